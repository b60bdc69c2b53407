"""Asks our server Query(Server Information) through Debian's PyKMIP client, to see what a real 1.x client decodes.

Usage: pykmip_query.py HOST PORT CERT KEY CA KMIP_VERSION
Prints one JSON document: the result of the step, so the test can check it.
"""
import json
import sys

from kmip.core import enums
from pykmip_steps import Steps, client as pykmip_client

host, port, cert, key, ca, version = sys.argv[1:7]
step = Steps()


def server_information():
    result = client.proxy.query(query_functions=[enums.QueryFunction.QUERY_SERVER_INFORMATION])
    if result.result_status.value != enums.ResultStatus.SUCCESS:
        raise RuntimeError("Query failed: %s %s" % (result.result_reason, result.result_message))
    info = result.server_information
    return {
        "vendor": result.vendor_identification,
        # PyKMIP keeps Server Information's content as raw bytes: None when absent, the byte count when present.
        "server_information_bytes": None if info is None else len(info.data.buffer),
    }


client = pykmip_client(host, port, cert, key, ca, version)
with client:
    step("query_server_information", server_information)

print(json.dumps({"steps": step.results}))
