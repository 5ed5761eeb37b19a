"""Airflow DAGs that run shoal: a nightly run and an on-demand backfill.

Copy this file into your Airflow `dags/` folder and set, as Airflow Variables
or environment variables of the workers:

  SHOAL_BIN          the shoal binary (default: `shoal` on PATH)
  SHOAL_PROJECT_DIR  the project: config/shoal.yaml and sql/ (default /opt/shoal)

Object-store credentials reach shoal through the workers' environment
(AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*), never
through this file.

`shoal_nightly` runs `shoal run --ds {{ ds }}` for every schedule interval:
  * one run at a time, in day order (`max_active_runs=1`, `depends_on_past`),
    because an incremental day reads the committed history of the days
    before it;
  * a retry reruns only what failed (`shoal retry` re-uses the run record's
    day), so a flaky object store costs one model, not the night;
  * exit codes (README "Exit codes"): 0 ok, 1 a model or a blocking data test
    failed, 2 config or SQL error (fix the project; retries will not help),
    3 input missing or unreadable (retries wait for late data), 4 output not
    committed (storage; retried);
  * logs are JSON lines (`--log-format json`), one object per event, and the
    run record `_shoal/latest.json` in the output says what ran.

`shoal_backfill` is triggered by hand with `{"from": "2026-10-01",
"to": "2026-10-31"}`: `shoal backfill` runs the days in order, skips days
already committed, and resumes where it stopped when retried.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.bash import BashOperator

SHOAL = os.environ.get("SHOAL_BIN", "shoal")
PROJECT = os.environ.get("SHOAL_PROJECT_DIR", "/opt/shoal")
BASE = f"{SHOAL} --project-dir {PROJECT} --log-format json"

default_args = {
    "owner": "data",
    "retries": 3,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(hours=1),
    # a day needs the days before it
    "depends_on_past": True,
}

with DAG(
    dag_id="shoal_nightly",
    description="shoal: the community analytics model pack for one day",
    schedule="30 2 * * *",  # after the day's events have landed
    start_date=datetime(2026, 9, 1),
    catchup=True,
    max_active_runs=1,
    default_args=default_args,
    tags=["shoal"],
) as nightly:
    validate = BashOperator(
        task_id="validate",
        # plans every model without reading data: exit 2 names file:line:col
        bash_command=f"{BASE} --set run.ds={{{{ ds }}}} validate",
        retries=0,
    )
    run = BashOperator(
        task_id="run",
        # first try: the whole day; on a retry: only the failed and skipped models
        bash_command=(
            "{% if ti.try_number > 1 %}"
            f"{BASE} retry"
            "{% else %}"
            f"{BASE} run --ds {{{{ ds }}}}"
            "{% endif %}"
        ),
        execution_timeout=timedelta(hours=3),
    )
    test = BashOperator(
        task_id="test",
        # the data tests again on what is committed (run already audited it)
        bash_command=f"{BASE} --set run.ds={{{{ ds }}}} test",
        retries=1,
    )
    validate >> run >> test

with DAG(
    dag_id="shoal_backfill",
    description="shoal: run a range of days in order (manual)",
    schedule=None,
    start_date=datetime(2026, 9, 1),
    catchup=False,
    max_active_runs=1,
    params={
        "from": Param("2026-10-01", type="string", format="date"),
        "to": Param("2026-10-31", type="string", format="date"),
    },
    default_args={**default_args, "depends_on_past": False},
    tags=["shoal"],
) as backfill:
    BashOperator(
        task_id="backfill",
        bash_command=f"{BASE} backfill --from {{{{ params['from'] }}}} --to {{{{ params['to'] }}}}",
        execution_timeout=timedelta(hours=24),
    )
