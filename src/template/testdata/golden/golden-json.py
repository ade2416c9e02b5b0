"""golden.jsonl (one line per case, as the gold program prints them) -> ../golden.json."""
import json

GENERATOR = (
    "Go 1.25.3 (the toolchain SPIRE v1.13.3 builds with) text/template with "
    'Option("missingkey=error") and sprig v3.3.0 (the module SPIRE v1.13.3 pins) through '
    "SPIRE's allow-list, over SPIRE's agentPathTemplateData{InstanceID: i-0b22a22eec53b9321, "
    "AccountID: 123456789012, Region: us-west-2, PluginName: aws_iid}; see "
    "src/template/testdata/golden/README.md"
)

rows = [json.loads(line) for line in open("golden.jsonl")]
cases = [
    {"template": r["template"], **{k: r[k] for k in ("output", "parseError", "execError") if k in r}}
    for r in rows
]
with open("golden.json", "w") as f:
    f.write(json.dumps({"generator": GENERATOR, "tags": rows[0]["tags"], "cases": cases}, indent=1, ensure_ascii=False) + "\n")
