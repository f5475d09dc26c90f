"""The web app's page (Streamlit): ``python -m sim app`` serves it.

Three parts, chosen in the sidebar:

- **New run**: choose a site, options, how to run them (each against the baseline, or all
  together), an experiment preset, a seed and a budget; the app checks the choice with the
  command line's own preflight and starts ``python -m sim`` in the background
  (:mod:`sim.app.jobs`).
- **Jobs**: every job the app started, with its progress, refreshed every few seconds
  without blocking the page; stop a job; open its results.
- **Results**: past runs, sweeps and uncertainty analyses; the ranking and paired
  comparisons, the report's figures (flow diagram, demand against capacity, ...), and
  downloads of the board paper and every CSV.

The page holds no model logic: it writes commands and reads folders.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from sim.app import browse, choices, jobs

TITLE = "NHS primary and urgent care capacity simulator"
#: How often the jobs list re-reads its files (seconds).
REFRESH_SECONDS = 2.0


def _root() -> Path:
    return jobs.outputs_root()


# ---------------------------------------------------------------- new run


def new_run_page() -> None:
    st.header("New run")
    st.write(
        "Choose what to compare. The app runs the same command a planner would type "
        "(shown below) in the background: you can follow it under **Jobs** and leave this page."
    )
    site_titles = choices.sites()
    site = st.selectbox("Site", list(site_titles), format_func=lambda s: site_titles[s], key="site")
    catalogue = choices.options()
    by_name = {o.name: o for o in catalogue}
    chosen = st.multiselect(
        "Investment options",
        [o.name for o in catalogue],
        format_func=lambda n: by_name[n].title,
        key="options",
        help="Each option's description, cost basis and assumptions are in scenarios/.",
    )
    for name in chosen:
        with st.expander(by_name[name].title):
            st.write(by_name[name].description)
            if by_name[name].incompatible_with:
                st.caption(
                    "Cannot be combined with: "
                    + ", ".join(
                        by_name.get(x, x).title if x in by_name else x
                        for x in by_name[name].incompatible_with
                    )
                )
    how = st.radio(
        "How to run them",
        ("each", "together"),
        format_func={
            "each": "Compare each option with the baseline (a sweep, paired replications)",
            "together": "Run the chosen options together as one combination",
        }.get,
        key="how",
    )
    combined = False
    if how == "each" and len(chosen) > 1:
        combined = st.checkbox("Also run all of them combined", key="combined")
    preset_list = choices.presets()
    preset_names = [p.name for p in preset_list]
    preset = st.selectbox(
        "Experiment preset",
        preset_names,
        index=preset_names.index("standard") if "standard" in preset_names else 0,
        format_func=lambda n: next(p.summary for p in preset_list if p.name == n),
        key="preset",
        help="quick is for a first look only: its board paper says NOT FOR DECISIONS.",
    )
    seed = int(st.number_input("Seed", value=20251124, step=1, format="%d", key="seed"))
    budget = st.number_input(
        "Budget, £ a year (for the best combination of options, after a sweep)",
        min_value=0.0,
        value=float(choices.DEFAULT_BUDGET_GBP),
        step=100_000.0,
        format="%.0f",
        key="budget",
    )
    find_best = how == "each" and st.checkbox(
        "Then find the best combination within this budget (python -m sim budget)",
        key="find_best",
    )
    report = st.checkbox("Then write the board paper (Word, PDF, HTML)", value=True, key="report")

    label = "+".join(chosen) if chosen else "baseline"
    root = _root()
    job_id = jobs.new_id(label)
    if how == "each":
        folder = root / "sweeps" / job_id
        overrides = choices.sweep_overrides(site, chosen, preset, seed, folder, combined)
        commands = [overrides]
        if find_best and chosen:
            commands.append(choices.budget_arguments(folder, budget))
        # a sweep writes its board paper itself unless told not to
        if not report:
            commands[0] = [*overrides, "hydra.callbacks.sweep_summary.board_report=false"]
        kind, expected = "sweep", choices.sweep_jobs(chosen, combined)
    else:
        folder = root / "runs" / job_id
        commands = [choices.run_overrides(site, chosen, preset, seed, folder)]
        if report:
            commands.append(choices.report_arguments(folder))
        kind, expected = "run", 1
    st.code("\n".join(choices.shell_command(c) for c in commands), language="bash")
    if st.button("Run", type="primary", key="run"):
        message = choices.check(commands[0])
        if message:
            st.error(message)
            return
        job = jobs.start(
            jobs.Job(
                id=job_id,
                kind=kind,
                label=label,
                folder=str(folder),
                commands=commands,
                expected_jobs=expected,
            ),
            root,
        )
        st.session_state["last_job"] = job.id
        st.success(f"Started: {label}. Follow it under Jobs.")


# ---------------------------------------------------------------- jobs


def _open(job: jobs.Job) -> None:
    """Show a finished job's folder under Results (a callback: it runs before the page)."""
    st.session_state["open_folder"] = job.folder
    st.session_state["kind"] = job.kind
    st.session_state.pop(f"folder-{job.kind}", None)  # so the folder list opens on this one
    st.session_state["view"] = "results"
    st.session_state["leave_jobs"] = True


@st.fragment(run_every=REFRESH_SECONDS)
def jobs_list() -> None:
    """Re-read every job's files every few seconds; only this part of the page reruns."""
    if st.session_state.pop("leave_jobs", False):
        st.rerun(scope="app")  # a job was opened: the whole page changes, not this fragment
    root = _root()
    found = jobs.all_jobs(root)
    if not found:
        st.info("No jobs yet: start one under New run.")
        return
    for job in found:
        p = jobs.progress(job, root)
        with st.container(border=True):
            st.markdown(f"**{job.label}** ({job.kind}): {p.state}")
            st.progress(p.fraction, text=p.text)
            if p.state in ("configuration error", "failed"):
                st.error(p.message)
            elif p.message and not p.done:
                st.caption(p.message)
            cols = st.columns(2)
            if not p.done and cols[0].button("Stop", key=f"stop-{job.id}"):
                jobs.stop(job)
            if p.state == "finished" and job.kind in ("run", "sweep"):
                cols[1].button("Open results", key=f"open-{job.id}", on_click=_open, args=(job,))


def jobs_page() -> None:
    st.header("Jobs")
    jobs_list()


# ---------------------------------------------------------------- results


@st.cache_data(show_spinner="Drawing the report's figures...")
def _figures(folder: str, stamp: float) -> list[tuple[str, str, str, bytes]]:
    return browse.figure_pngs(Path(folder))


def _stamp(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.iterdir()), default=0.0)


def _banner(folder: Path) -> None:
    """The board paper's warning, for results not fit for a board."""
    from sim.report.load import ReportError, load_folder
    from sim.report.summary import fitness

    try:
        fit = fitness(load_folder(folder))
    except ReportError:
        return
    if not fit.fit:
        st.error(fit.banner)


def _show_sweep(folder: Path) -> None:
    from sim.report.build import kpi_comparison
    from sim.report.figures import label
    from sim.report.summary import ranking_table

    data = browse.report_data(folder)
    st.subheader("Options ranked by cost per A&E attendance avoided")
    # st.table: plain HTML, read by screen readers and found by the browser's search
    st.table(ranking_table(data), hide_index=True)
    if data.comparison is not None and not data.comparison.empty:
        st.subheader("Paired comparisons against the baseline")
        kpis = list(dict.fromkeys(data.comparison.kpi))
        kpi = st.selectbox("Measure", kpis, format_func=label, key="kpi")
        st.table(kpi_comparison(data, kpi), hide_index=True)


@st.cache_data(show_spinner="Drawing the analysis's figures...")
def _psa_view(folder: str, stamp: float) -> tuple[list[str], list[str], list]:
    return browse.psa_view(Path(folder))


def _show_uncertainty(folder: Path) -> None:
    """The analysis's answer, warnings and figures (as the board paper's "How sure are we?"
    section has them), then every table; a folder not finished yet says so."""
    from sim.report.load import ReportError

    try:
        statement, warnings, figures = _psa_view(str(folder), _stamp(folder))
    except ReportError:
        st.warning("This analysis is not finished: its tables are not written yet.")
        statement, warnings, figures = [], [], []
    if statement:
        st.subheader("How sure are we?")
        for sentence in statement:
            st.markdown(sentence)
    for warning in warnings:
        st.warning(warning)
    for _, title, caption, data in figures:
        st.markdown(f"**{title}**")
        st.image(data, caption=caption)
    st.subheader("The analysis's tables")
    for table in sorted(folder.glob("*.csv")):
        with st.expander(table.name):
            st.dataframe(pd.read_csv(table), hide_index=True)


def _show_run(folder: Path, root: Path) -> None:
    st.subheader("Headline measures")
    from sim.report.build import headline_table

    st.table(headline_table(browse.report_data(folder)), hide_index=True)
    others = [f for f in browse.list_folders(root, "run") if f.path != folder and f.reportable]
    if others:
        st.subheader("Paired comparison with another run")
        base = st.selectbox(
            "Baseline run",
            [None, *others],
            format_func=lambda f: f.label if f else "-",
            key="pair",
        )
        if base is not None:
            from sim.experiments.comparison import ComparisonError, compare_runs

            try:
                st.dataframe(compare_runs(base.path, folder), hide_index=True, width="stretch")
            except ComparisonError as err:
                st.error(f"error: {err}")


def _downloads(folder: Path) -> None:
    st.subheader("Downloads")
    files = browse.downloads(folder)
    if not any(f.name.startswith("report.") for f in files):
        st.write("No board paper yet.")
        if st.button("Make the board paper", key="make-report"):
            job = jobs.Job(
                id=jobs.new_id(f"report_{folder.name}"),
                kind="report",
                label=f"board paper of {folder.name}",
                folder=str(folder),
                commands=[choices.report_arguments(folder)],
            )
            jobs.start(job, _root())
            st.success("Writing the board paper: follow it under Jobs.")
    own = [p for p in files if p.parent == folder]
    per_job = [p for p in files if p.parent != folder]
    for path in own:
        _download(path, path.name)
    if per_job:
        with st.expander("Each job's files"):
            for path in per_job:
                _download(path, f"{path.parent.name}_{path.name}")


def _download(path: Path, name: str) -> None:
    st.download_button(
        name,
        data=path.read_bytes(),
        file_name=name,
        mime=browse.MIME.get(path.suffix, "application/octet-stream"),
        key=f"download-{path}",
    )


def results_page() -> None:
    st.header("Results")
    root = _root()
    kinds = {"run": "Runs", "sweep": "Sweeps", "uncertainty": "Uncertainty analyses"}
    st.session_state.setdefault("kind", "sweep")
    kind = st.radio("Show", list(kinds), format_func=kinds.get, horizontal=True, key="kind")
    folders = browse.list_folders(root, kind)
    if not folders:
        st.info(f"No {kinds[kind].lower()} under {root}.")
        return
    wanted = st.session_state.get("open_folder")
    index = next((i for i, f in enumerate(folders) if str(f.path) == wanted), 0)
    chosen = st.selectbox(
        "Folder",
        folders,
        index=index,
        format_func=lambda f: f"{f.path.name}: {f.label} ({f.status})",
        key=f"folder-{kind}",
    )
    folder = chosen.path
    if chosen.reportable:
        _banner(folder)
    if chosen.kind == "sweep" and chosen.status == "complete":
        _show_sweep(folder)
    elif chosen.kind == "run" and chosen.status == "complete":
        _show_run(folder, root)
    elif chosen.kind == "uncertainty":
        _show_uncertainty(folder)
    else:
        st.warning(f"This folder is {chosen.status}: its results are not complete yet.")
    if chosen.reportable:
        st.subheader("Figures")
        for _, title, caption, data in _figures(str(folder), _stamp(folder)):
            st.markdown(f"**{title}**")
            st.image(data, caption=caption)
    _downloads(folder)


# ---------------------------------------------------------------- the page


#: The three parts of the page. Which one shows is kept in ``st.session_state["view"]``, not in
#: a widget, so a button anywhere (a job's "Open results") can change it.
VIEWS = {
    "new": ("New run", new_run_page),
    "jobs": ("Jobs", jobs_page),
    "results": ("Results", results_page),
}


def _go(view: str) -> None:
    st.session_state["view"] = view


def main() -> None:
    st.set_page_config(page_title=TITLE, layout="wide")
    st.session_state.setdefault("view", "new")
    st.session_state.pop("leave_jobs", None)  # this run is the whole page already
    for view, (label, _) in VIEWS.items():
        current = st.session_state["view"] == view
        st.sidebar.button(
            label,
            key=f"go-{view}",
            type="primary" if current else "secondary",
            width="stretch",
            on_click=_go,
            args=(view,),
        )
    st.sidebar.caption(f"Outputs: {_root()}")
    st.title(TITLE)
    VIEWS[st.session_state["view"]][1]()


main()
