#!/usr/bin/env python3
"""Reference values for the GGUF tests (Tests/GGUFTests), computed with gguf-py (PyPI `gguf`),
llama.cpp's own Python package. Numpy only: never torch or transformers.

  gguf_reference.py blocks OUT.gguf OUT.safetensors
      A small GGUF written by gguf-py's GGUFWriter: one tensor of random blocks per type xtf
      dequantizes (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K) and metadata of every
      value type, arrays and an array of arrays included; OUT.safetensors holds gguf-py's
      dequantization of each tensor (F32, same names) and the metadata as JSON in
      __metadata__["metadata"].

  gguf_reference.py tensors MODEL.gguf OUT.json [IMPORTED.safetensors]
      For every tensor of a real GGUF: its type, shape, SHA-256 of gguf-py's dequantization
      (float32, little-endian, row-major) and of the Hugging Face layout (llama's q/k rows put
      back in rotate-half order, the inverse of convert_hf_to_gguf's permute), and its first
      values. With IMPORTED.safetensors, also "hf_names": the GGUF name gguf-py's own
      TensorNameMap gives each of its tensor names.
"""
import hashlib
import json
import struct
import sys

import numpy as np
from gguf import MODEL_ARCH, GGMLQuantizationType as Q, GGUFReader, GGUFValueType as V, GGUFWriter, get_tensor_name_map
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

# Byte offsets of the f16 scales in each block format: random bytes there could be NaN or Inf.
SCALE_OFFSETS = {Q.Q8_0: [0], Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def blocks(gguf_path, reference_path):
    rng = np.random.default_rng(1234)
    writer = GGUFWriter(gguf_path, arch="llama")
    metadata = {
        "test.uint8": (200, V.UINT8), "test.int8": (-100, V.INT8), "test.uint16": (60000, V.UINT16),
        "test.int16": (-30000, V.INT16), "test.uint32": (4000000000, V.UINT32), "test.int32": (-2000000000, V.INT32),
        "test.uint64": (2**63 + 5, V.UINT64), "test.int64": (-(2**62), V.INT64), "test.float32": (0.1, V.FLOAT32),
        "test.float64": (0.1, V.FLOAT64), "test.bool": (True, V.BOOL), "test.string": ("ünïcödé ✓", V.STRING),
    }
    for key, (value, vtype) in metadata.items():
        writer.add_key_value(key, value, vtype)
    writer.add_array("test.strings", ["a", "", "Ġb"])
    writer.add_array("test.ints", [1, -2, 3])
    writer.add_array("test.floats", [0.5, -1.25])
    writer.add_array("test.nested", [[1, 2], [3]])
    expected = {k: v for k, (v, _) in metadata.items()}
    expected["test.float32"] = float(np.float32(0.1))
    expected.update({"test.strings": ["a", "", "Ġb"], "test.ints": [1, -2, 3], "test.floats": [0.5, -1.25], "test.nested": [[1, 2], [3]]})

    reference = {}
    for qtype in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]:
        name = f"{qtype.name.lower()}.weight"
        rows, columns = 3, 512
        if qtype in (Q.F32, Q.F16, Q.BF16):
            values = rng.normal(0, 1, (rows, columns)).astype(np.float32)
            raw = values if qtype == Q.F32 else values.astype(np.float16) if qtype == Q.F16 else quantize(values, Q.BF16)
        else:
            block_elements, block_bytes = GGML_QUANT_SIZES[qtype]
            raw = rng.integers(0, 256, (rows, columns // block_elements, block_bytes), dtype=np.uint8)
            for offset in SCALE_OFFSETS[qtype]:
                scales = (rng.normal(0, 0.05, raw.shape[:2])).astype(np.float16)
                raw[:, :, offset:offset + 2] = scales.view(np.uint8).reshape(*raw.shape[:2], 2)
            raw = raw.reshape(rows, -1)
        writer.add_tensor(name, raw, raw_dtype=None if qtype in (Q.F32, Q.F16) else qtype)
        reference[name] = dequantize(raw.view(np.uint8) if qtype == Q.BF16 else raw, qtype).reshape(rows, columns)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    write_safetensors(reference_path, reference, {"metadata": json.dumps(expected)})


def hf_rows(values, heads):
    """convert_hf_to_gguf's permute undone: rows (head, pair, half) -> (head, half, pair)."""
    rows, columns = values.shape
    return values.reshape(heads, rows // heads // 2, 2, columns).swapaxes(1, 2).reshape(rows, columns)


def tensors(gguf_path, out_path, imported=None):
    reader = GGUFReader(gguf_path)
    field = lambda key: reader.fields[key].contents()
    heads = {"attn_q": field("llama.attention.head_count"),
             "attn_k": field("llama.attention.head_count_kv") if "llama.attention.head_count_kv" in reader.fields
             else field("llama.attention.head_count")}
    result = {}
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape)]
        values = dequantize(t.data, t.tensor_type).astype("<f4").reshape(shape)
        module = t.name.split(".")[-2]
        hf = hf_rows(values, heads[module]) if module in heads and t.name.startswith("blk.") else values
        result[t.name] = {
            "type": t.tensor_type.name, "shape": shape,
            "sha256": hashlib.sha256(values.tobytes()).hexdigest(),
            "hf_sha256": hashlib.sha256(np.ascontiguousarray(hf).tobytes()).hexdigest(),
            "first": [float(x) for x in values.reshape(-1)[:8]],
        }
    output = {"tensors": result}
    if imported:
        with open(imported, "rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        names = get_tensor_name_map(MODEL_ARCH.LLAMA, field("llama.block_count"))
        output["hf_names"] = {name: names.get_name(name, try_suffixes=(".weight", ".bias"))
                              for name in header if name != "__metadata__"}
    with open(out_path, "w") as f:
        json.dump(output, f)


if __name__ == "__main__":
    commands = {"blocks": blocks, "tensors": tensors}
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
