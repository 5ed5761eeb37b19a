#!/usr/bin/env python3
"""An S3 server on 127.0.0.1 that admits only given access keys and records who came.

    PY=$(.ci/pyenv)
    $PY tests/py/s3_auth_server.py --port 9000 --bucket b \
        --key AKIASHOALENV0000000:secret1 --key AKIASHOAL...:secret2 \
        --record /tmp/keys.log

moto's S3 server behind a WSGI filter that checks AWS Signature Version 4
itself: a request signed with an access key id that is not one of `--key`
(or not signed) is refused with 403 InvalidAccessKeyId, one whose signature
was not made with that key's secret (or whose body does not match its
signed SHA-256) with 403 SignatureDoesNotMatch. Every request's access key
id and response status are appended to `--record`, one line each
(`KEYID STATUS METHOD PATH`), so a test can tell which credentials a
process really used. The check is made here, on the request exactly as it
came over the wire (raw path and query), rather than by moto's IAM
authentication, which refuses correctly signed requests whose keys or list
prefixes hold `=` or `/` — every shoal path does. Buckets are created
before it serves; prints `ready` on stdout then.
"""

import argparse
import hashlib
import hmac
import io
import re
import sys
from urllib.parse import parse_qsl, quote

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

CREDENTIAL = re.compile(r"Credential=([^/]+)/")
AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^/]+)/([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)"
)
UNHASHED = {"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


def header(environ, name):
    """A request header as WSGI holds it (`host`, `content-type`, `x-amz-date`, ...)."""
    key = name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return environ.get(key, "")
    return environ.get("HTTP_" + key, "")


def signature_error(environ, secret):
    """Why the request's SigV4 signature is not one made with `secret`; None when it is.

    Reads the body (to check its signed hash) and puts it back for moto.
    """
    m = AUTH.match(environ.get("HTTP_AUTHORIZATION", ""))
    if not m:
        return "the Authorization header is not AWS4-HMAC-SHA256"
    _, scope, signed, given = m.groups()
    date, region, service, _ = scope.split("/")
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    path, _, query = raw.partition("?")
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True)
    )
    names = signed.split(";")
    canonical_headers = "".join(f"{n}:{' '.join(header(environ, n).split())}\n" for n in names)
    payload = header(environ, "x-amz-content-sha256") or "UNSIGNED-PAYLOAD"
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    if payload not in UNHASHED and hashlib.sha256(body).hexdigest() != payload:
        return "the body does not match its signed SHA-256"
    canonical = "\n".join(
        [
            environ["REQUEST_METHOD"],
            path,
            "&".join(f"{k}={v}" for k, v in pairs),
            canonical_headers,
            signed,
            payload,
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            header(environ, "x-amz-date"),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return "the signature was not made with the secret of this access key id"
    return None


def refusal(start, code, message):
    body = (
        f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>"
        f"<Message>{message}</Message></Error>"
    ).encode()
    start("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def recording(app, path, allowed):
    """WSGI filter: refuses keys not in `allowed` (id -> secret) and wrong
    signatures, appends `KEYID STATUS METHOD PATH`."""

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

        if key not in allowed:
            return refusal(start, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
        wrong = signature_error(environ, allowed[key])
        if wrong:
            return refusal(start, "SignatureDoesNotMatch", wrong)
        return app(environ, start)

    return wrapped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bucket", action="append", default=[])
    ap.add_argument("--key", action="append", default=[], help="ACCESS_KEY_ID:SECRET")
    ap.add_argument("--record", required=True)
    args = ap.parse_args()

    allowed = {"setup": "setup"}
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
    allowed.update(spec.split(":", 1) for spec in args.key)
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
