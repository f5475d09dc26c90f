"""Text reminders, cancellations ahead and rebooking: a cancelled slot goes back into the book
for others. Checked slot by slot on the book, and episode by episode on a run."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALPHA
from scipy import stats
from system_helpers import replicate, run_config

from sim.booking.book import AppointmentBook
from sim.booking.books import release
from sim.core import ledger
from sim.core.calendar import MINUTES_PER_DAY
from sim.core.flows import NODE


def book_with(pre: tuple[int, ...], n_days: int = 10) -> AppointmentBook:
    return AppointmentBook([pre] * 7, [()] * 7, [d % 7 for d in range(n_days)], 7, 0)


def test_a_released_slot_is_booked_again_earliest_first():
    book = book_with((540, 600))
    assert book.book_future(0, 3, 3) == (3, 540)
    assert book.book_future(0, 3, 3) == (3, 600)
    assert book.book_future(0, 3, 3) == (-1, -1)  # day 3 full
    release(book.arrays, 0, 3, 540)  # the 09:00 patient cancels ahead
    assert book.book_future(1, 3, 5) == (3, 540)  # the next booking takes it
    assert book.book_future(1, 3, 3) == (-1, -1)
    # on the day, a released slot before the pools' next one is taken first
    release(book.arrays, 0, 4, 500)
    assert book.book_today(4, 480) == 500
    assert book.book_today(4, 480) == 540
    # ... and one already past is not offered
    release(book.arrays, 0, 5, 500)
    assert book.book_today(5, 520) == 540


def test_releasing_moves_the_first_free_hint_back():
    book = book_with((540,))
    for day in (1, 2, 3):
        assert book.book_future(0, day, day)[0] == day
    assert book.book_future(0, 1, 5) == (4, 540)  # days 1-3 full: the hint is past them
    release(book.arrays, 0, 2, 540)
    assert book.book_future(0, 1, 5) == (2, 540)


ALL_CANCEL = (
    "++assumptions.dna.reminder_response_share=1.0",
    "++assumptions.dna.reminder_cancel_share=1.0",
    "++assumptions.dna.reminder_rebook_share=0.0",
)


def _run(overrides=()):
    return replicate(tuple(overrides), warmup_weeks=1, run_weeks=8)


def _lead_days(sj) -> np.ndarray:
    booked = np.floor(np.nan_to_num(sj.booked_time, nan=-1.0) / MINUTES_PER_DAY)
    return sj.appointment_day - booked


def test_every_reminded_would_be_dna_cancels_and_gives_the_slot_back():
    base, res = _run(), _run(ALL_CANCEL)
    kb, k = base.detail["inputs"], res.detail["inputs"]
    sb, sj = kb.journeys, k.journeys
    # The same patients: who missed an appointment booked 2+ days ahead without reminders...
    missed_ahead = (sb.outcome == ledger.DID_NOT_ATTEND) & (_lead_days(sb) >= 2)
    missed_ahead &= ~np.isnan(sb.booked_time)
    assert missed_ahead.sum() > 200
    # ... now cancel (the booking no longer counted as an appointment), none of them missing
    cancelled = ~np.isnan(sj.cancelled_time)
    assert cancelled.sum() > 200
    assert (sj.outcome[cancelled] == ledger.CANCELLED).all()
    assert (sj.appointment_day[cancelled] == -1).all() and np.isnan(sj.hub_time[cancelled]).all()
    dna = (sj.outcome == ledger.DID_NOT_ATTEND) & (sj.appointment_day >= 0)
    assert (_lead_days(sj)[dna] <= 1).all()  # only bookings too late for a reminder
    assert res.kpis["practice.dna_rate"] < base.kpis["practice.dna_rate"]
    # every cancellation is logged as a move into "cancelled", once
    into = np.bincount(sj.flow_episode[sj.flow_to == NODE["cancelled"]], minlength=len(sj.outcome))
    np.testing.assert_array_equal(into, cancelled.astype(int))
    # The slots went back and others booked them: few are still free at the end.
    free_at_end = int(sj.books.released_n.sum())
    # (every would-be DNA cancelling is extreme: a book's day may fill its room for slots
    # given back, and a few are lost; see test_the_option_loses_no_released_slot)
    assert int(sj.books.released_lost.sum()) < 0.01 * cancelled.sum()
    assert free_at_end < 0.2 * cancelled.sum()
    assert (
        res.kpis["practice.cancelled_ahead_per_week"]
        > 0
        == base.kpis["practice.cancelled_ahead_per_week"]
    )


def test_without_reminders_nobody_cancels():
    res = _run(("++assumptions.dna.reminder_response_share=0.0",))
    sj = res.detail["inputs"].journeys
    assert np.isnan(sj.cancelled_time).all() and not (sj.outcome == ledger.CANCELLED).any()


def test_those_who_cancel_and_rebook_come_to_their_new_appointment():
    res = _run(ALL_CANCEL[:2] + ("++assumptions.dna.reminder_rebook_share=1.0",))
    sj = res.detail["inputs"].journeys
    cancelled = ~np.isnan(sj.cancelled_time)
    assert cancelled.sum() > 200
    assert not (sj.outcome == ledger.CANCELLED).any()
    assert (sj.attempts[cancelled] >= 2).all()  # a new request to the practice
    assert not (sj.outcome[cancelled] == ledger.DID_NOT_ATTEND).any()


def test_a_quarter_of_would_be_dnas_answer_the_option_s_reminder():
    """The option's response share (0.26 [HALLSWORTH15]) is what the patients do: among
    practice bookings made 2+ days ahead that the baseline's patients missed."""
    base, res = _run(), _run(("scenario=[text_reminders]",))
    sb, sj = base.detail["inputs"].journeys, res.detail["inputs"].journeys
    missed = (sb.outcome == ledger.DID_NOT_ATTEND) & (_lead_days(sb) >= 2)
    same_booking = missed & (sj.booked_time == sb.booked_time)
    same_booking |= missed & ~np.isnan(sj.cancelled_time)
    n = int(same_booking.sum())
    answered = int((same_booking & (sj.outcome != ledger.DID_NOT_ATTEND)).sum())
    assert n > 200
    assert int(sj.books.released_lost.sum()) == 0  # the option never fills a day's room
    p = stats.binomtest(answered, n, 0.26).pvalue
    assert p > ALPHA, (answered, n)
    assert answered / n == pytest.approx(0.26, abs=0.06)


def test_docs_and_the_option_file_state_the_reminder_as_configured():
    """docs/model.md and scenarios/text_reminders.yaml quote the option's own values, and the
    option no longer says cancelled slots are not re-offered (they are: the book takes them
    back)."""
    import re
    from pathlib import Path

    from sim.config.locations import option_file
    from sim.config.scenarios import read_option_file

    dna = run_config(("scenario=[text_reminders]",)).model.assumptions.dna
    root = Path(__file__).resolve().parent.parent
    model = (root / "docs" / "model.md").read_text(encoding="utf-8")
    section = model.split("### Text reminders, cancellations and rebooking")[1].split("\n### ")[0]
    quoted = dict(re.findall(r"`(reminder_\w+)` \(?([\d.]+)", section))
    assert float(quoted["reminder_response_share"]) == dna.reminder_response_share == 0.26
    assert float(quoted["reminder_cancel_share"]) == dna.reminder_cancel_share
    assert float(quoted["reminder_rebook_share"]) == dna.reminder_rebook_share
    assert float(quoted["reminder_hours_before"]) == dna.reminder_hours_before
    option = read_option_file(option_file("text_reminders"))
    text = " ".join([option["description"], *option["assumptions"]]).lower()
    assert "not re-offered" not in text and "goes back into the book" in text
    assert dna.reminder_hours_before == 24 and "a day before" in text
