"""STRESS-DES appendix (Monks et al. 2019, "Strengthening the reporting of empirical simulation
studies: Introducing the STRESS guidelines", J. Simulation 13(1)).

Every checklist item is filled from the run's configuration and manifest where it can be
(run length, warm-up, replications, seeds, packages, machine). Where they cannot fill it, the
item gives a short summary, the section of ``docs/model.md`` that documents it and the opening
text of that section, quoted from the file (:mod:`sim.report.model_doc`), so the appendix
reads on its own in an emailed report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.report import model_doc
from sim.report.load import ReportData

MODEL_DOC = "docs/model.md"
#: Items that run metadata cannot fill, and the docs/model.md section quoted for each.
QUOTED_SECTION = {
    "1.1": "how-the-model-works",
    "2.1": "the-whole-system-at-a-glance",
    "2.2": "two-stages-the-booking-pass-then-the-hospital",
    "2.3": "services-that-are-options-not-in-the-baseline",
    "2.4": "booking-earliest-fit",
    "2.5.1": "demand-episodes-of-need",
    "2.5.2": "the-routing-rules-in-order",
    "2.5.3": "practice-appointment-books",
    "2.5.4": "the-department",
    "2.5.5": "how-every-episode-ends-the-conservation-ledger",
    "3.1": "assumptions-and-sources",
    "3.3": "limitations-what-the-model-does-not-do",
    "4.1": "warm-up-and-measurement-window",
}


@dataclass(frozen=True)
class StressItem:
    number: str
    section: str
    title: str
    text: str
    quoted: str = ""  # the opening of the docs/model.md section that documents the item

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}"


SECTIONS = {
    "1": "Objectives",
    "2": "Logic",
    "3": "Data",
    "4": "Experimentation",
    "5": "Implementation",
    "6": "Code access",
}


def _doc(anchor: str, title: str) -> str:
    return f"{MODEL_DOC}#{anchor} ({title})"


def _execution(m: dict[str, Any]) -> str:
    """How the replications of the run in manifest ``m`` were run, and how long it took."""
    ahead = m.get("replications_run_ahead") or []
    if not ahead:
        return (
            f"Replications in parallel over {m.get('n_jobs')} job(s); wall time "
            f"{m.get('wall_seconds')} s."
        )
    times = m.get("replication_wall_seconds") or []
    return (
        f"{len(ahead)} replication(s) run by the sweep's launcher before the job, each with the "
        "same replication of the sweep's other jobs on all cores (those on the same patients "
        f"sharing them; identical numbers): {sum(times):.0f} s of replications in all; the "
        f"job then wrote its files in {m.get('wall_seconds')} s."
    )


def stress_items(data: ReportData, doc_text: str | None = None) -> list[StressItem]:
    """The 23 checklist items; ``doc_text`` is docs/model.md (read from this repository when
    not given)."""
    doc_text = model_doc.read() if doc_text is None else doc_text
    base = data.base
    m, cfg = base.manifest, base.config
    exp = cfg.get("experiment", {})
    site = cfg.get("site", {})
    reps = m.get("replications")
    warm, weeks = m.get("warmup_weeks"), m.get("run_weeks")
    level = m.get("ci_level", 0.95)
    headline = ", ".join(data.headline) or "see summary.csv"
    pk = m.get("packages", {})
    mach = m.get("machine", {})
    git = m.get("git", {})
    scen_text = "; ".join(
        f"{name}: {(run.scenario.get(name) or {}).get('title', name)}"
        for name, run in data.runs.items()
    )
    rows = [
        (
            "1.1",
            "Purpose of the model",
            "Explain how investment options in primary and urgent care (practice capacity, "
            "extended-access hubs, rapid assessment, intermediate care, A&E front door) change "
            "access, A&E use, admissions, unmet need and cost for "
            f"{site.get('title', m.get('site', 'the site'))}. See README.md and "
            + _doc("how-the-model-works", "How the model works")
            + ".",
        ),
        (
            "1.2",
            "Model outputs",
            f"{len(base.summary)} KPIs per replication (docs/kpis.md), headline: {headline}; "
            "conservation ledger, flow matrix, calibration table, hour-of-week and daily time "
            "series, and equity breakdowns by age, frailty and practice (equity.csv).",
        ),
        (
            "1.3",
            "Experimentation aims",
            f"Compare options against the baseline with paired replications. Options in this "
            f"report: {scen_text}.",
        ),
        (
            "2.1",
            "Base model overview diagram",
            "The system diagram is in "
            + _doc("the-whole-system-at-a-glance", "The whole system at a glance")
            + "; the flow figure in this report shows the simulated flows between services.",
        ),
        (
            "2.2",
            "Base model logic",
            "Two stages: demand and the booking pass through practices, hubs, NHS 111 and rapid "
            "assessment clinics; then the hospital as one coupled SimPy model: A&E with "
            "clinicians on a rota and majors spaces, same-day emergency care, acute beds (exit "
            "block), discharge and intermediate care. See "
            + _doc("two-stages-the-booking-pass-then-the-hospital", "Two stages")
            + " and "
            + _doc("the-routing-rules-in-order", "The routing rules, in order")
            + ".",
        ),
        (
            "2.3",
            "Scenario logic",
            "Each option is a scenario file (scenarios/*.yaml) whose 'changes' override site or "
            "assumption values; descriptions, cost bases and assumptions are listed in the "
            "Assumptions section above. See "
            + _doc("services-that-are-options-not-in-the-baseline", "Services that are options")
            + ".",
        ),
        (
            "2.4",
            "Algorithms",
            "Non-homogeneous Poisson arrivals (piecewise-constant rate); earliest-fit booking in "
            "appointment books; a multi-server A&E queue on a rota; capacity-limited "
            "intermediate care. See "
            + _doc("demand-episodes-of-need", "Demand")
            + ", "
            + _doc("booking-earliest-fit", "Booking: earliest fit")
            + " and "
            + _doc("ae", "A&E")
            + ".",
        ),
        (
            "2.5.1",
            "Components: entities",
            "Episodes of need (with age band, frailty, urgency, staff need, practice) and "
            "self-presenting A&E arrivals. See "
            + _doc("demand-episodes-of-need", "Demand: episodes of need")
            + ".",
        ),
        (
            "2.5.2",
            "Components: activities",
            "Practice and hub appointments, NHS 111 contacts, rapid assessment, A&E assessment "
            "and treatment, admission stays, intermediate care stays. See "
            + _doc("the-routing-rules-in-order", "The routing rules")
            + ".",
        ),
        (
            "2.5.3",
            "Components: resources",
            f"{len(site.get('practices', {}))} practices' appointment books by staff type, "
            "locality hub books, rapid assessment clinic sessions, A&E clinicians on a rota, "
            "IC+ places. See "
            + _doc("practice-appointment-books", "Practice appointment books")
            + ".",
        ),
        (
            "2.5.4",
            "Components: queues",
            "Appointment books are booked earliest-fit within target windows (not FIFO queues); "
            "A&E has minors and majors streams, each first come first served, and majors spaces "
            "(ambulances first); admitted patients wait for a G&A bed in one first-come-first-"
            "served queue; medically optimised patients wait in their bed for an IC+ or social "
            "care place; step-ups wait for an IC+ place or are admitted instead. See "
            + _doc("the-department", "The department")
            + ".",
        ),
        (
            "2.5.5",
            "Components: entry and exit points",
            "Episodes enter when a need arises; every episode ends in exactly one ledger state "
            "(attended, DNA, gave up, hub, self-care, pharmacy, OOH GP, A&E, admitted, IC+, ...). "
            "See "
            + _doc("how-every-episode-ends-the-conservation-ledger", "the conservation ledger")
            + ".",
        ),
        (
            "3.1",
            "Data sources",
            "Published NHS statistics and literature, cited by key in "
            + _doc("assumptions-and-sources", "Assumptions and sources")
            + " and docs/sources.md; "
            f"site data for {m.get('site', 'the site')} from the site configuration.",
        ),
        (
            "3.2",
            "Pre-processing",
            "Published figures are converted to rates per person-year and shares in the "
            "configuration (conf/); site CSVs are converted by sim/tools/site_from_csv.py. See "
            "docs/own_area.md.",
        ),
        (
            "3.3",
            "Assumptions",
            "Listed with sources in "
            + _doc("assumptions-and-sources", "Assumptions and sources")
            + "; limitations in "
            + _doc("limitations-what-the-model-does-not-do", "Limitations")
            + "; each option's assumptions appear in this report.",
        ),
        (
            "4.1",
            "Initialisation",
            f"The model starts empty and runs {warm} week(s) of warm-up before measuring. See "
            + _doc("warm-up-and-measurement-window", "Warm-up and measurement window")
            + " and docs/warmup.md.",
        ),
        (
            "4.2",
            "Run length",
            f"{weeks} week(s) measured after {warm} week(s) warm-up, calendar starting "
            f"{site.get('calendar_start', '?')}; experiment '{m.get('experiment')}'.",
        ),
        (
            "4.3",
            "Estimation approach",
            f"{reps} independent replications (requested {m.get('replications_requested', reps)}"
            f"; automatic precision target {exp.get('target_relative_half_width')}); means with "
            f"t-based {level:.0%} confidence intervals; options paired with the baseline by common "
            "random numbers. See docs/experiments.md.",
        ),
        (
            "5.1",
            "Software or programming language",
            f"Python {mach.get('python', '?')}; packages: "
            + ", ".join(f"{k} {v}" for k, v in pk.items())
            + ".",
        ),
        (
            "5.2",
            "Random sampling",
            f"numpy PCG64 streams from SeedSequence(seed={m.get('seed')}), child r for replication "
            "r, one named stream per attribute and practice (common random numbers). See "
            + _doc(
                "everything-about-an-episode-is-drawn-once",
                "Everything about an episode is drawn once",
            )
            + ".",
        ),
        (
            "5.3",
            "Model execution",
            "Stages run in order in one process per replication; booking is a time-ordered pass, "
            f"A&E is SimPy event scheduling. {_execution(m)} Command: {m.get('command')}.",
        ),
        (
            "5.4",
            "System specification",
            f"{mach.get('platform', '?')}, {mach.get('processor', '?')}, "
            f"{mach.get('cpu_count', '?')} CPUs.",
        ),
        (
            "6.1",
            "Computer model sharing statement",
            f"Open source: this repository at git commit {git.get('commit')} "
            f"(dirty: {git.get('dirty')}); configuration sha256 {m.get('config_sha256')}. "
            f"Reproduce with: {m.get('command')}.",
        ),
    ]
    items = []
    for n, t, x in rows:
        anchor = QUOTED_SECTION.get(n)
        quoted = model_doc.excerpt(doc_text, anchor) if doc_text and anchor else None
        items.append(StressItem(n, SECTIONS[n[0]], t, x, quoted or ""))
    return items


__all__ = ["StressItem", "stress_items", "SECTIONS"]
