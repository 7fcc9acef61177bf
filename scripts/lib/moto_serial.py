"""A moto server that serves one request at a time, for the ledger's conformance suite.

moto's TransactWriteItems is atomic only when nothing runs beside it: it applies the actions one
by one and, when one fails, restores a snapshot of every table it touched, which also erases what
concurrent requests wrote meanwhile (DynamoDB never does that). Served one request at a time,
every transaction is atomic, and the clients' concurrency still interleaves transactions at
request granularity, which is DynamoDB's model. The main moto server (threaded, for SQS long
polls) serves every other suite.

    python3 scripts/lib/moto_serial.py 127.0.0.1 PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False)


if __name__ == "__main__":
    main()
