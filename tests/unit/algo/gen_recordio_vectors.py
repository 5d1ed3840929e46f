#!/usr/bin/python3
"""Writes recordio_vectors.h: RecordIO-protobuf bytes made independently of Lathe's C code,
with the standard library only (struct, and protobuf encoded by hand from the wire format in
SAGEMAKER-CONTRACTS.md 5.2), for test_read_recordio.c.

    /usr/bin/python3 tests/unit/algo/gen_recordio_vectors.py > tests/unit/algo/recordio_vectors.h

With --corpus DIR it also writes the fuzz seeds (tests/fuzz/corpus/read_recordio): the same
vectors and a few broken ones.
"""
import os
import struct
import sys

MAGIC = 0xCED7230A


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, payload):  # wire type 2: length-delimited
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def tensor(values=None, keys=None, shape=None, fmt="f", packed=True):
    out = b""
    if values is not None:
        if packed:
            out += ld(1, b"".join(encode_scalar(fmt, v) for v in values))
        else:  # one tag per element, as proto2 parsers must also accept
            wire = {"f": 5, "d": 1, "i": 0}[fmt]
            out += b"".join(varint(1 << 3 | wire) + encode_scalar(fmt, v) for v in values)
    if keys is not None:
        out += ld(2, b"".join(varint(k) for k in keys))
    if shape is not None:
        out += ld(3, b"".join(varint(s) for s in shape))
    return out


def encode_scalar(fmt, v):
    if fmt == "f":
        return struct.pack("<f", v)
    if fmt == "d":
        return struct.pack("<d", v)
    return varint(v & 0xFFFFFFFFFFFFFFFF)  # int32: negative numbers as 10-byte varints


# Value's oneof: float32_tensor = 2, float64_tensor = 3, int32_tensor = 7, bytes = 9.
def value(kind, body):
    return ld({"f": 2, "d": 3, "i": 7}[kind], body)


def record(features, label=(), extra=b""):
    out = b"".join(ld(1, ld(1, k.encode()) + ld(2, v)) for k, v in features)
    out += b"".join(ld(2, ld(1, k.encode()) + ld(2, v)) for k, v in label)
    return out + extra


def frame(payload, flag=0):
    pad = (4 - len(payload) % 4) % 4
    return struct.pack("<II", MAGIC, flag << 29 | len(payload)) + payload + b"\0" * pad


def frame_split(payload):
    """dmlc RecordIOWriter::WriteRecord: cut at each 4-byte-aligned magic, dropping it."""
    out, start, magic = b"", 0, struct.pack("<I", MAGIC)
    for i in range(0, len(payload) - 3, 4):
        if payload[i:i + 4] == magic:
            part = payload[start:i]
            out += struct.pack("<II", MAGIC, (1 if start == 0 else 2) << 29 | len(part)) + part
            start = i + 4
    last = payload[start:]
    flag = 3 if start else 0
    pad = (4 - len(payload) % 4) % 4
    return out + struct.pack("<II", MAGIC, flag << 29 | len(last)) + last + b"\0" * pad


def c_array(name, data, comment):
    lines = [f"/* {comment} */", f"static const unsigned char {name}[] = {{"]
    for i in range(0, len(data), 12):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 12]) + ",")
    lines.append("};")
    return "\n".join(lines)


def main():
    # 1. The contract's worked example (dense [1.5, 2.0], label 1.0) and [-1, 0.5] label 0;
    #    its sparse example (3.0 at column 7 of 10, label 0.0) and {0: 1, 9: 2} label 1.
    dense = record([("values", value("f", tensor([1.5, 2.0])))],
                   [("values", value("f", tensor([1.0])))])
    first = frame(dense)
    expected_first = bytes.fromhex(
        "0a23d7ce2c000000" "0a16" "0a0676616c756573" "120c120a0a080000c03f00000040"
        "1212" "0a0676616c756573" "120812060a040000803f")
    assert first == expected_first, first.hex()
    sparse = record([("values", value("f", tensor([3.0], keys=[7], shape=[10])))],
                    [("values", value("f", tensor([0.0])))])
    assert sparse[:26] == bytes.fromhex("0a180a0676616c756573120e120c0a040000404012010" "71a010a")
    sdk = first + frame(record([("values", value("f", tensor([-1.0, 0.5])))],
                               [("values", value("f", tensor([0.0])))]))
    sparse_two = frame(sparse) + frame(
        record([("values", value("f", tensor([1.0, 2.0], keys=[0, 9], shape=[10])))],
               [("values", value("f", tensor([1.0])))]))

    # 2. What the SDK writes for float64 and int32 numpy arrays, plus what a reader must
    #    tolerate: unpacked repeated floats, keys out of order, a uid, an unknown field (15),
    #    and another features key. Rows: [0.25, -4, 0, 1] label 3 (int32); sparse {1: 5, 3: 6}
    #    of 4 label -1 (unpacked float); [7, 8, -9, 10] from int32 features, label 2.
    r1 = record([("values", value("d", tensor([0.25, -4.0, 0.0, 1.0], fmt="d")))],
                [("values", value("i", tensor([3], fmt="i")))],
                extra=ld(3, b"row-1") + varint(15 << 3 | 0) + varint(99))
    r2 = record([("other", value("f", tensor([9.0]))),
                 ("values", value("f", tensor([6.0, 5.0], keys=[3, 1], shape=[4])))],
                [("values", value("f", tensor([-1.0], packed=False)))])
    r3 = record([("values", value("i", tensor([7, 8, -9, 10], fmt="i")))],
                [("values", value("d", tensor([2.0], fmt="d")))])
    mixed = frame(r1) + frame(r2) + frame(r3)

    # 3. A record dmlc writes in three parts: its first and third feature are the magic's
    #    bit pattern at 4-byte-aligned payload offsets (16 and 24).
    magic_f = struct.unpack("<f", struct.pack("<I", MAGIC))[0]
    split = record([("values", value("f", tensor([magic_f, 2.0, magic_f])))],
                   [("values", value("f", tensor([1.0])))])
    assert split[16:20] == struct.pack("<I", MAGIC) and split[24:28] == struct.pack("<I", MAGIC)
    parts = frame_split(split) + frame(dense)
    assert parts.count(struct.pack("<I", MAGIC)) == 4

    if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
        bad_key = record([("values", value("f", tensor([1.0], keys=[10], shape=[10])))])
        seeds = {
            "dense.rec": sdk, "sparse.rec": sparse_two, "mixed.rec": mixed, "split.rec": parts,
            "split-alone.rec": frame_split(split),
            "unlabeled.rec": frame(record([("values", value("f", tensor([1.0, 2.0, 3.0])))])),
            "bad-magic.rec": b"\x01\x02\x03\x04" + sdk[4:],
            "length-past-end.rec": sdk[:-20],
            "split-truncated.rec": frame_split(split)[:24],
            "key-past-shape.rec": frame(bad_key),
            "bytes-value.rec": frame(record([("values", ld(9, ld(1, b"abc")))])),
            "not-protobuf.rec": frame(b"\xff\xff\xff\xff\xff"),
        }
        for name, data in seeds.items():
            with open(os.path.join(sys.argv[2], name), "wb") as f:
                f.write(data)
        return 0
    print("/* Generated by gen_recordio_vectors.py (standard library only); do not edit. */")
    print(c_array("rio_dense", sdk, "dense: [1.5, 2] label 1; [-1, 0.5] label 0"))
    print(c_array("rio_sparse", sparse_two, "sparse, shape 10: {7: 3} label 0; {0: 1, 9: 2} "
                  "label 1"))
    print(c_array("rio_mixed", mixed, "float64/int32 tensors, unpacked floats, unsorted keys, "
                  "unknown fields: [0.25, -4, 0, 1] 3; {1: 5, 3: 6}/4 -1; [7, 8, -9, 10] 2"))
    print(c_array("rio_split", parts, "a record in three parts ([magic, 2, magic] label 1), "
                  "then the dense record of rio_sdk"))


if __name__ == "__main__":
    sys.exit(main())
