"""The two reference models the benchmark measures the simulator against.

Both serve the same M/M/c queue (arrivals at ``rate`` an hour, ``servers`` servers, service
at ``service_rate`` an hour, first come first served) with the same pre-drawn numbers, so
they serve the same customers with the same waits, and each customer costs the same work:

- :func:`simpy_mmc`: idiomatic SimPy, one process per customer with a ``Resource``
  request, a timeout and a release: the way most healthcare simulation models are written;
- :func:`heapq_mmc`: a bare event loop on :mod:`heapq` (arrivals and departures as events,
  a queue as a deque), about the fastest plain Python can do without compiling anything.

Each returns the customers served, their mean wait (hours) and the CPU seconds it took
(``time.process_time``), drawing its random numbers included. :func:`erlang_c_mean_wait` is
the queue's mean wait from theory, which both must approach.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque

import numpy as np

#: The reference queue: an A&E-like department, 9 arrivals an hour, 10 clinicians, an hour
#: each on average (utilisation 0.9).
RATE, SERVERS, SERVICE_RATE = 9.0, 10, 1.0


def _draws(customers: int, seed: int) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / RATE, customers)
    services = rng.exponential(1 / SERVICE_RATE, customers)
    return gaps.tolist(), services.tolist()


def simpy_mmc(customers: int, seed: int = 1) -> dict:
    """Idiomatic SimPy M/M/c: one process per customer."""
    import simpy

    started, wall = time.process_time(), time.perf_counter()
    gaps, services = _draws(customers, seed)
    env = simpy.Environment()
    clinicians = simpy.Resource(env, capacity=SERVERS)
    waits: list[float] = []

    def customer(env, service):
        arrived = env.now
        with clinicians.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def arrivals(env):
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(env, service))

    env.process(arrivals(env))
    env.run()
    return _result(customers, sum(waits) / len(waits), started, wall)


def heapq_mmc(customers: int, seed: int = 1) -> dict:
    """Bare heapq event loop M/M/c: events ``(time, kind, customer)``, a FIFO deque."""
    started, wall = time.process_time(), time.perf_counter()
    gaps, services = _draws(customers, seed)
    arrival, departure = 0, 1
    events = [(gaps[0], arrival, 0)]
    queue: deque[tuple[int, float]] = deque()
    free = SERVERS
    waits: list[float] = []  # every customer's wait, as the SimPy reference records it
    next_customer = 1
    push, pop = heapq.heappush, heapq.heappop
    while events:
        now, kind, who = pop(events)
        if kind == arrival:
            if next_customer < customers:
                push(events, (now + gaps[next_customer], arrival, next_customer))
                next_customer += 1
            if free:
                free -= 1
                waits.append(0.0)
                push(events, (now + services[who], departure, who))
            else:
                queue.append((who, now))
        elif queue:
            waiting, arrived = queue.popleft()
            waits.append(now - arrived)
            push(events, (now + services[waiting], departure, waiting))
        else:
            free += 1
    return _result(customers, sum(waits) / len(waits), started, wall)


def _result(customers: int, mean_wait: float, started: float, wall: float) -> dict:
    cpu = time.process_time() - started
    return {
        "customers": customers,
        "mean_wait_hours": mean_wait,
        "cpu_seconds": cpu,
        "wall_seconds": time.perf_counter() - wall,
        "per_cpu_second": customers / cpu,
    }


def erlang_c_mean_wait(rate: float = RATE, servers: int = SERVERS, mu: float = SERVICE_RATE):
    """Mean wait in queue (hours) of the M/M/c queue, from the Erlang C formula."""
    a = rate / mu
    rho = a / servers
    head = sum(a**k / math.factorial(k) for k in range(servers))
    tail = a**servers / (math.factorial(servers) * (1 - rho))
    p_wait = tail / (head + tail)
    return p_wait / (servers * mu - rate)
