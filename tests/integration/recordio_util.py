"""RecordIO-protobuf written and read by hand from the wire format (SAGEMAKER-CONTRACTS.md
5.2), independently of Lathe's protobuf-c codec, for the tests that send or check it."""
import struct

MAGIC = 0xCED7230A


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def record_protobuf(values):
    """aialgs.data.Record with features["values"] a dense Float32Tensor, as the SDK writes."""
    tensor = field(1, struct.pack(f"<{len(values)}f", *values))  # Float32Tensor.values
    value = field(2, tensor)                                     # Value.float32_tensor
    entry = field(1, b"values") + field(2, value)                # map entry
    return field(1, entry)                                       # Record.features


def frame(payload, flag=0):
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return struct.pack("<II", MAGIC, len(payload) | flag << 29) + payload + pad


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(buf):
    """(number, wire type, value) of each field of one protobuf message."""
    i, out = 0, []
    while i < len(buf):
        key, i = read_varint(buf, i)
        number, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise AssertionError(f"wire type {wt}")
        out.append((number, wt, v))
    return out


def label_records(body):
    """Each whole frame's Record as {label key: [float32 values]}; asserts there are no
    features (an inference response carries its outputs in label only)."""
    records, at = [], 0
    while at < len(body):
        magic, lrec = struct.unpack_from("<II", body, at)
        assert magic == MAGIC and lrec >> 29 == 0, (magic, lrec)
        payload = body[at + 8:at + 8 + lrec]
        at += 8 + lrec + (4 - lrec % 4) % 4
        labels = {}
        for number, wt, entry in fields(payload):
            assert number == 2 and wt == 2, f"Record field {number}: only label is expected"
            parts = {n: v for n, _, v in fields(entry)}
            (tensor_field, _, tensor), = fields(parts[2])
            assert tensor_field == 2, "label values must be Float32Tensors"
            values = []
            for n, w, v in fields(tensor):
                assert n == 1, "a label tensor has values only"
                values += struct.unpack(f"<{len(v) // 4}f", v) if w == 2 else struct.unpack("<f", v)
            labels[parts[1].decode()] = list(values)
        records.append(labels)
    return records
