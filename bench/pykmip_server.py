"""Starts Debian's PyKMIP server for side-by-side benchmarks.

Usage: pykmip_server.py PORT CERT KEY CA DATABASE LOG
Prints "ready" once it listens. Needs auth_suite=TLS1.2 on this OpenSSL.
"""
import sys

from kmip.services.server.server import KmipServer

port, cert, key, ca, database, log = sys.argv[1:7]
server = KmipServer(
    hostname="127.0.0.1",
    port=int(port),
    certificate_path=cert,
    key_path=key,
    ca_path=ca,
    auth_suite="TLS1.2",
    config_path=None,
    log_path=log,
    enable_tls_client_auth=True,
    logging_level="WARNING",
    database_path=database,
)
with server:
    print("ready", flush=True)
    server.serve()
