#!/usr/bin/env python3
"""Loads examples/airflow/shoal_dag.py with Airflow's own DagBag and checks the
task graph, then renders the nightly `run` task's command for one day and runs
it for real against a shoal project.

    AIRFLOW=$(.ci/airflow-env)
    SHOAL_BIN=target/release/shoal SHOAL_PROJECT_DIR=DIR $AIRFLOW tests/py/airflow_dagbag.py --ds 2026-10-30

Exits 1 with the reason on any failed check.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from types import SimpleNamespace

ROOT = pathlib.Path(__file__).resolve().parents[2]


def fail(msg: str) -> None:
    print(f"FAIL: {msg}")
    sys.exit(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ds", required=True)
    args = ap.parse_args()
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

    from airflow.models import DagBag  # imported after the environment is set

    bag = DagBag(dag_folder=str(ROOT / "examples/airflow"), include_examples=False)
    if bag.import_errors:
        fail(f"import errors: {bag.import_errors}")
    if sorted(bag.dag_ids) != ["shoal_backfill", "shoal_nightly"]:
        fail(f"dags: {sorted(bag.dag_ids)}")

    nightly = bag.dags["shoal_nightly"]
    edges = sorted((t.task_id, d) for t in nightly.tasks for d in t.downstream_task_ids)
    if edges != [("run", "test"), ("validate", "run")]:
        fail(f"nightly edges: {edges}")
    if nightly.max_active_runs != 1 or not nightly.catchup:
        fail("nightly must run one day at a time, catching up")
    run = nightly.get_task("run")
    if not run.depends_on_past or run.retries < 1:
        fail("run must depend on the day before and retry")

    backfill = bag.dags["shoal_backfill"]
    if [t.task_id for t in backfill.tasks] != ["backfill"] or backfill.schedule_interval is not None:
        fail("backfill: one manual task")

    # the command each try runs, rendered by Airflow's Jinja
    def render(try_number: int) -> str:
        ctx = {"ds": args.ds, "ti": SimpleNamespace(try_number=try_number), "params": {}}
        return run.render_template(run.bash_command, ctx)

    first, again = render(1), render(2)
    print("try 1:", first)
    print("try 2:", again)
    if f"run --ds {args.ds}" not in first or "retry" not in again:
        fail("run renders `run --ds DAY`, a retry `retry`")

    # run the rendered command for real
    done = subprocess.run(first, shell=True, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"`{first}` exited {done.returncode}:\n{done.stderr[-3000:]}")
    lines = [l for l in done.stderr.splitlines() if l.startswith("{")]
    if not lines or '"run finished"' not in lines[-1]:
        fail(f"no JSON 'run finished' line in the log:\n{done.stderr[-2000:]}")
    test = nightly.get_task("test")
    cmd = test.render_template(test.bash_command, {"ds": args.ds})
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"`{cmd}` exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    print("airflow_dagbag: 2 DAGs, nightly validate >> run >> test, rendered run and test exit 0")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(os.environ.get("AIRFLOW_HOME", ""), ignore_errors=True)
