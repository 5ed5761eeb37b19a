#!/usr/bin/env python3
"""An S3 server on 127.0.0.1 that admits only given access keys and records who came.

    PY=$(.ci/pyenv)
    $PY tests/py/s3_auth_server.py --port 9000 --bucket b \
        --key AKIASHOALENV0000000:secret1 --key AKIASHOAL...:secret2 \
        --record /tmp/keys.log

moto's S3 server behind a WSGI filter: a request signed with an access key
id that is not one of `--key` (or not signed) is refused with 403
InvalidAccessKeyId, and every request's access key id and response status
are appended to `--record`, one line each (`KEYID STATUS METHOD PATH`), so a
test can tell which credentials a process really used. The secrets are not
verified: moto's own signature check (its IAM authentication) refuses
correctly signed requests whose keys or list prefixes hold `=` or `/`,
which every shoal path does. Buckets are created before it serves; prints
`ready` on stdout then.
"""

import argparse
import re
import sys

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

CREDENTIAL = re.compile(r"Credential=([^/]+)/")


def recording(app, path, allowed):
    """WSGI filter: refuses keys not in `allowed`, appends `KEYID STATUS METHOD PATH`."""

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

        if allowed is not None and key not in allowed:
            body = (
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>"
                "<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>"
            ).encode()
            start("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start)

    return wrapped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bucket", action="append", default=[])
    ap.add_argument("--key", action="append", default=[], help="ACCESS_KEY_ID:SECRET")
    ap.add_argument("--record", required=True)
    args = ap.parse_args()

    allowed = {"setup"}
    app = recording(DomainDispatcherApplication(create_backend_app), args.record, allowed)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{args.port}",
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    for b in args.bucket:
        s3.create_bucket(Bucket=b)
    # From now on only the given keys are admitted.
    allowed.clear()
    allowed.update(spec.split(":", 1)[0] for spec in args.key)
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
