#!/usr/bin/env python3
"""An S3 server on 127.0.0.1 that checks credentials and records who came.

    PY=$(.ci/pyenv)
    $PY tests/py/s3_auth_server.py --port 9000 --bucket b \
        --key AKIASHOALENV0000000:secret1 --key AKIASHOAL...:secret2 \
        --record /tmp/keys.log

moto's S3 server, with moto's IAM authentication switched on after setup:
every request must carry an AWS Signature V4 made with one of the given
access keys (moto recomputes the signature with the key's secret, so a wrong
secret is refused with 403 SignatureDoesNotMatch, an unknown key id with 403
InvalidAccessKeyId). The keys belong to one IAM user whose policy allows
everything; the buckets are created before authentication starts.

Every request's access key id (from its Authorization header, or `-` when
unsigned) and the response status are appended to `--record`, one line
each (`KEYID STATUS METHOD PATH`), so a test can tell which credentials a
process really used. Prints `ready` on stdout once it serves.
"""

import argparse
import json
import re
import sys

import boto3
from moto import settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

CREDENTIAL = re.compile(r"Credential=([^/]+)/")


def recording(app, path):
    """WSGI middleware: appends `KEYID STATUS METHOD PATH` per request."""

    def wrapped(environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = CREDENTIAL.search(auth)
        key = m.group(1) if m else "-"
        line = [key, "?", environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")]

        def start(status, headers, exc_info=None):
            line[1] = status.split(" ", 1)[0]
            with open(path, "a", encoding="utf-8") as f:
                f.write(" ".join(line) + "\n")
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wrapped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bucket", action="append", default=[])
    ap.add_argument("--key", action="append", default=[], help="ACCESS_KEY_ID:SECRET")
    ap.add_argument("--record", required=True)
    args = ap.parse_args()

    app = recording(DomainDispatcherApplication(create_backend_app), args.record)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{args.port}"

    # Setup, before authentication is on.
    def client(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )

    iam = client("iam")
    iam.create_user(UserName="shoal")
    iam.put_user_policy(
        UserName="shoal",
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    user = iam_backends[DEFAULT_ACCOUNT_ID]["aws"].users["shoal"]
    for spec in args.key:
        key_id, secret = spec.split(":", 1)
        iam.create_access_key(UserName="shoal")
        # moto draws keys at random; give the newest the chosen id and secret.
        key = user.access_keys[-1]
        key.access_key_id = key_id
        key.secret_access_key = secret
    s3 = client("s3")
    for b in args.bucket:
        s3.create_bucket(Bucket=b)

    # From now on every request is authenticated.
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
