"""What the PyKMIP interop scripts share: the client for a KMIP version, and steps recorded for the test to read.

Each script prints {"steps": {label: {"ok": true, "value": ...} | {"ok": false, "error": ..., "trace": ...}}} as
JSON; the test names the step that failed and why.
"""
import traceback

from kmip.core import enums
from kmip.pie.client import ProxyKmipClient

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.3": enums.KMIPVersion.KMIP_1_3,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}


def client(host, port, cert, key, ca, version):
    """A ProxyKmipClient for our server, configured by its arguments only (no pykmip.conf)."""
    return ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca, config_file="/dev/null", kmip_version=VERSIONS[version])


class Steps:
    def __init__(self, trace_chars=600):
        self.results = {}
        self.trace_chars = trace_chars

    def __call__(self, label, fn):
        try:
            self.results[label] = {"ok": True, "value": fn()}
        except Exception as exc:  # the test reports which step failed and why
            self.results[label] = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc), "trace": traceback.format_exc()[-self.trace_chars:]}
        return self.results[label].get("value")
