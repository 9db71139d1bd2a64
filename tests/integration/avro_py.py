#!/usr/bin/python3
"""Reference checks of stardust's Avro files with python3-avro (Debian).

avro_py.py records AVRO JSONL AVSC
    AVRO's records (read by python3-avro) equal the JSON lines of JSONL,
    its header schema parses to the same schema as AVSC (doc strings
    aside), and its header is what the old pyavro-stardust reader needs:
    one positive metadata block, then the 0 terminator.
avro_py.py golden JSONL < CAT_OUTPUT
    the JSON lines on stdin (sd-avro cat) equal the records of a golden
    .jsonl dump (its first line is the writer schema).
"""
import io
import json
import sys

import avro.datafile
import avro.io


def norm(schema):
    """A schema as plain JSON: no doc, {"type": "long"} written as "long"."""
    if isinstance(schema, dict):
        out = {k: norm(v) for k, v in schema.items() if k != "doc"}
        if set(out) == {"type"} and isinstance(out["type"], str):
            return out["type"]
        return out
    if isinstance(schema, list):
        return [norm(x) for x in schema]
    return schema


def read_long(b, pos):
    shift = value = 0
    while True:
        byte = b[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (value >> 1) ^ -(value & 1), pos


def header_single_block(data):
    assert data[:4] == b"Obj\x01", "bad magic"
    count, pos = read_long(data, 4)
    assert count > 0, "metadata block count %d is not positive" % count
    for _ in range(count):
        for _ in range(2):
            n, pos = read_long(data, pos)
            pos += n
    end, pos = read_long(data, pos)
    assert end == 0, "metadata is not one block followed by 0"


def records(path, jsonl, avsc):
    with open(path, "rb") as f:
        data = f.read()
    header_single_block(data)
    reader = avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader())
    got = list(reader)
    schema = json.loads(reader.meta["avro.schema"].decode())
    with open(avsc) as f:
        want_schema = json.load(f)
    if norm(schema) != norm(want_schema):
        print("schema differs:\n %s\n %s" % (norm(schema), norm(want_schema)), file=sys.stderr)
        return 1
    with open(jsonl) as f:
        want = [json.loads(line) for line in f]
    if got != want:
        for i, (a, b) in enumerate(zip(got, want)):
            if a != b:
                print("record %d differs:\n %s\n %s" % (i, a, b), file=sys.stderr)
                break
        print("%d records read, %d expected" % (len(got), len(want)), file=sys.stderr)
        return 1
    meta = {k: v.decode() for k, v in reader.meta.items() if not k.startswith("avro.")}
    print(json.dumps({"records": len(got), "codec": reader.codec, "meta": meta}, sort_keys=True))
    return 0


def golden(jsonl):
    with open(jsonl) as f:
        lines = f.read().splitlines()
    want = [json.loads(x) for x in lines[1:]]
    got = [json.loads(x) for x in sys.stdin.read().splitlines()]
    if got != want:
        print("%d records from sd-avro cat, %d in %s" % (len(got), len(want), jsonl), file=sys.stderr)
        for i, (a, b) in enumerate(zip(got, want)):
            if a != b:
                print("record %d differs:\n %s\n %s" % (i, a, b), file=sys.stderr)
                break
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "records":
        sys.exit(records(*sys.argv[2:5]))
    sys.exit(golden(sys.argv[2]))
