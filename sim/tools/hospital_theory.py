"""Exact numerical answers for small configurations of the hospital, to check the simulation.

Computed from first principles, independently of :mod:`sim.services.hospital`:

* :func:`erlang_b` and :func:`bed_delay_theory`: a pool of ``c`` beds with Poisson arrivals
  and exponential stays, as a loss system (Erlang B) or a delay system (Erlang C).
* :func:`boarding_chain`: A&E spaces blocked by boarders. Poisson arrivals need one of ``S``
  spaces (first come first served); treatment is exponential; a patient decided for
  admission waits in their space for one of ``B`` beds (exponential stays), and a bed that
  frees goes to the longest boarder. A continuous-time Markov chain on (waiting for a space,
  in treatment, boarding, beds occupied), solved for its stationary distribution.
* :func:`rota_chain`: one clinician always on duty, a second on duty for part of each day,
  who finishes the current patient when the shift ends. A time-varying Markov chain on
  (queue, which clinicians are busy, which idle clinician is next), solved for its periodic
  steady state by uniformisation, hour by hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve
from scipy.stats import poisson

# --------------------------------------------------------------------------------------------
# Erlang B and C
# --------------------------------------------------------------------------------------------


def erlang_b(c: int, offered_load: float) -> float:
    """Probability that an arrival finds all ``c`` servers busy in an M/G/c/c loss system
    (Erlang B, by the stable recursion ``B_k = a B_{k-1} / (k + a B_{k-1})``)."""
    a = float(offered_load)
    if c < 0 or a < 0:
        raise ValueError(f"Erlang B needs c >= 0 and a >= 0 (c={c}, a={a})")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


@dataclass(frozen=True)
class BedTheory:
    """A bed pool with Poisson arrivals and exponential stays."""

    arrivals_per_minute: float
    stay_mean_minutes: float
    beds: int

    @property
    def offered_load(self) -> float:
        return self.arrivals_per_minute * self.stay_mean_minutes

    @property
    def blocking(self) -> float:
        """Loss system: share of arrivals finding every bed full (Erlang B)."""
        return erlang_b(self.beds, self.offered_load)

    @property
    def loss_occupancy(self) -> float:
        """Loss system: mean beds occupied, ``a (1 - B)``."""
        return self.offered_load * (1 - self.blocking)

    @property
    def p_wait(self) -> float:
        """Delay system: share of arrivals who wait (Erlang C)."""
        c, a = self.beds, self.offered_load
        if not a < c:
            raise ValueError(f"no steady state: offered load {a:.2f} >= {c} beds")
        b = self.blocking
        return c * b / (c - a * (1 - b))

    @property
    def mean_wait(self) -> float:
        """Delay system: mean wait for a bed (minutes), ``C / (c mu - lambda)``."""
        mu = 1 / self.stay_mean_minutes
        return self.p_wait / (self.beds * mu - self.arrivals_per_minute)


# --------------------------------------------------------------------------------------------
# A&E spaces blocked by boarders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardingTheory:
    mean_waiting_for_space: float  # patients
    mean_boarding: float  # admitted patients waiting in a space for a bed
    mean_beds_occupied: float
    p_wait_for_space: float  # share of arrivals finding every space taken (PASTA)
    tail_mass: float  # stationary probability at the queue cap (should be ~0)


def boarding_chain(
    arrivals_per_minute: float,
    treatment_mean_minutes: float,
    p_admit: float,
    stay_mean_minutes: float,
    spaces: int,
    beds: int,
    max_queue: int = 300,
) -> BoardingTheory:
    """Stationary solution of the boarding chain (see the module docstring).

    States (q, n, b, k): ``q`` waiting for a space, ``n`` in treatment, ``b`` boarding, ``k``
    beds occupied, with ``n + b <= S``, ``q > 0`` only when ``n + b = S``, and ``b > 0``
    only when ``k = B``. Arrivals beyond ``max_queue`` waiting are dropped (the reported
    ``tail_mass`` shows whether that matters).
    """
    lam, mu, nu = arrivals_per_minute, 1 / treatment_mean_minutes, 1 / stay_mean_minutes
    states = []
    for k in range(beds + 1):
        for n in range(spaces + 1):
            for b in range(spaces - n + 1):
                if b and k < beds:
                    continue
                full = n + b == spaces
                for q in range(max_queue + 1 if full else 1):
                    states.append((q, n, b, k))
    index = {s: i for i, s in enumerate(states)}
    rows, cols, rates = [], [], []

    def add(src: tuple, dst: tuple, rate: float) -> None:
        if rate > 0:
            rows.append(index[src])
            cols.append(index[dst])
            rates.append(rate)

    def space_freed(q: int, n: int, b: int, k: int) -> tuple:
        """A space frees: the next waiting patient (if any) takes it and starts treatment."""
        return (q - 1, n + 1, b, k) if q else (q, n, b, k)

    for q, n, b, k in states:
        s = (q, n, b, k)
        if n + b < spaces:
            add(s, (q, n + 1, b, k), lam)
        elif q < max_queue:
            add(s, (q + 1, n, b, k), lam)
        if n:
            add(s, space_freed(q, n - 1, b, k), n * mu * (1 - p_admit))  # goes home
            if k < beds:
                add(s, space_freed(q, n - 1, b, k + 1), n * mu * p_admit)  # straight to a bed
            else:
                add(s, (q, n - 1, b + 1, k), n * mu * p_admit)  # boards in the space
        if k:
            if b:  # the longest boarder takes the bed, freeing their space
                add(s, space_freed(q, n, b - 1, k), k * nu)
            else:
                add(s, (q, n, b, k - 1), k * nu)
    size = len(states)
    generator = sparse.csr_matrix((rates, (rows, cols)), shape=(size, size))
    generator = generator - sparse.diags(np.asarray(generator.sum(axis=1)).ravel())
    # pi Q = 0 with sum(pi) = 1: replace one balance equation by the normalisation.
    system = generator.T.tolil()
    system[size - 1, :] = np.ones(size)
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = spsolve(system.tocsc(), rhs)
    pi = np.clip(pi, 0, None)
    pi /= pi.sum()
    arr = np.array(states)
    q, n, b, k = arr.T
    return BoardingTheory(
        mean_waiting_for_space=float(pi @ q),
        mean_boarding=float(pi @ b),
        mean_beds_occupied=float(pi @ k),
        p_wait_for_space=float(pi[(n + b) == spaces].sum()),
        tail_mass=float(pi[q == max_queue].sum()),
    )


# --------------------------------------------------------------------------------------------
# A rota with "finish the current patient", by uniformisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotaTheory:
    mean_in_department_by_hour: np.ndarray  # (24,) time-averaged patients present, each hour
    tail_mass: float  # largest probability at the queue cap over the day (should be ~0)


def rota_chain(
    arrivals_per_minute: float,
    treatment_mean_minutes: float,
    on_minute: int,
    off_minute: int,
    max_queue: int = 200,
) -> RotaTheory:
    """Periodic steady state of one stream with clinician 0 always on duty and clinician 1 on
    duty from ``on_minute`` to ``off_minute`` each day (``0 < on < off < 1440``).

    Rules (the department's): an arrival goes to the idle on-duty clinician who has been idle
    longest, else waits (first come first served); an on-duty clinician finishing takes the
    next patient, else becomes idle (last in the idle order); at ``off_minute`` clinician 1,
    if idle, goes off duty, and if busy finishes the current patient first, then goes off;
    at ``on_minute`` clinician 1 comes on duty and takes the next patient waiting, else
    becomes idle behind clinician 0. The chain is uniformised over each hour of the day
    (Poisson-weighted powers of ``I + Q / Lambda``), giving the exact state distribution at
    each hour's end and its time integral over the hour.
    """
    if not 0 < on_minute < off_minute < 1440 or on_minute % 60 or off_minute % 60:
        raise ValueError("on_minute and off_minute must be whole hours with 0 < on < off < 1440")
    lam, mu = arrivals_per_minute, 1 / treatment_mean_minutes
    states = [
        (q, b0, b1, o)
        for q in range(max_queue + 1)
        for b0 in (0, 1)
        for b1 in (0, 1)
        for o in (0, 1)
    ]
    index = {s: i for i, s in enumerate(states)}
    size = len(states)

    def canonical(q: int, b0: int, b1: int, o: int, on: bool) -> tuple:
        # The order matters only while both are idle and on duty.
        return (q, b0, b1, o if (on and not b0 and not b1) else 0)

    def generator(on: bool) -> np.ndarray:
        g = np.zeros((size, size))

        def add(src: tuple, dst: tuple, rate: float) -> None:
            g[index[src], index[canonical(*dst, on)]] += rate

        for s in states:
            q, b0, b1, o = s
            if s != canonical(*s, on):
                continue  # unreachable in this period: left with no transitions
            # Arrival.
            if on and not b0 and not b1:
                add(s, (q, 0, 1, 0) if o else (q, 1, 0, 0), lam)
            elif not b0:
                add(s, (q, 1, b1, 0), lam)
            elif on and not b1:
                add(s, (q, b0, 1, 0), lam)
            elif q < max_queue:
                add(s, (q + 1, b0, b1, 0), lam)
            # Clinician 0 finishes.
            if b0:
                if q:
                    add(s, (q - 1, 1, b1, 0), mu)
                else:  # idle; clinician 1, if idle on duty, has waited longer
                    add(s, (0, 0, b1, 1 if (on and not b1) else 0), mu)
            # Clinician 1 finishes.
            if b1:
                if on and q:
                    add(s, (q - 1, b0, 1, 0), mu)
                elif on:
                    add(s, (q, b0, 0, 0), mu)  # idle behind clinician 0 if that one is idle
                else:
                    add(s, (q, b0, 0, 0), mu)  # off duty after finishing
        g -= np.diag(g.sum(axis=1))
        return g

    def shift_starts(pi: np.ndarray) -> np.ndarray:
        out = np.zeros(size)
        for s, p in zip(states, pi, strict=True):
            q, b0, b1, o = s
            if not b1 and q:
                dst = (q - 1, b0, 1, 0)
            else:
                dst = (q, b0, b1, 0)  # idle behind clinician 0 (order 0), or still busy
            out[index[canonical(*dst, True)]] += p
        return out

    def shift_ends(pi: np.ndarray) -> np.ndarray:
        out = np.zeros(size)
        for s, p in zip(states, pi, strict=True):
            out[index[canonical(*s, False)]] += p
        return out

    q_on, q_off = generator(True), generator(False)
    rate = max(-q_on.diagonal().min(), -q_off.diagonal().min()) * 1.05
    # v @ (I + Q / rate), as a sparse product on the transpose
    step_on = sparse.csr_matrix((np.eye(size) + q_on / rate).T)
    step_off = sparse.csr_matrix((np.eye(size) + q_off / rate).T)
    in_system = np.array([q + b0 + b1 for q, b0, b1, _ in states], dtype=float)
    hour = 60.0
    n_terms = int(poisson.ppf(1 - 1e-14, rate * hour)) + 2
    weights = poisson.pmf(np.arange(n_terms), rate * hour)
    # integral over [0, T] of Poisson(k; rate t) dt = P(N(T) > k) / rate
    integral_weights = poisson.sf(np.arange(n_terms), rate * hour) / rate

    def hour_of(pi: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, float]:
        end = np.zeros(size)
        area = np.zeros(size)
        v = pi
        for k in range(n_terms):
            end += weights[k] * v
            area += integral_weights[k] * v
            v = step @ v
        return end, float(area @ in_system) / hour

    def day(pi: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        means = np.zeros(24)
        tail = 0.0
        for h in range(24):
            minute = h * 60
            if minute == on_minute:
                pi = shift_starts(pi)
            elif minute == off_minute:
                pi = shift_ends(pi)
            on = on_minute <= minute < off_minute
            pi, means[h] = hour_of(pi, step_on if on else step_off)
            tail = max(tail, float(pi[[index[s] for s in states if s[0] == max_queue]].sum()))
        return pi, means, tail

    pi = np.zeros(size)
    pi[index[(0, 0, 0, 0)]] = 1.0
    for _ in range(200):  # the daily map contracts fast; iterate to its fixed point
        new, means, tail = day(pi)
        if np.abs(new - pi).sum() < 1e-12:
            break
        pi = new
    return RotaTheory(mean_in_department_by_hour=means, tail_mass=tail)


__all__ = [
    "BedTheory",
    "BoardingTheory",
    "RotaTheory",
    "boarding_chain",
    "erlang_b",
    "rota_chain",
]
