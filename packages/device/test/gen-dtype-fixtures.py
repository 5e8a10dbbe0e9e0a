"""Writes dtype conversion fixtures computed by real PyTorch (run with /usr/bin/python3, torch 1.13).

half-bits.bin.gz (all little-endian uint32/uint16):
  [0]      65536 x u32  float32 bits of torch.float16 bit pattern i widened by torch (.float())
  [256Ki]  65536 x u32  float32 bits of torch.bfloat16 bit pattern i widened by torch
  [512Ki]  u32 N, then N x u32 float32 inputs, N x u16 torch .half() bits, N x u16 torch .bfloat16() bits
"""
import gzip, os, struct
import numpy as np
import torch

codes = torch.arange(65536, dtype=torch.int32).to(torch.int16)
f16 = codes.view(torch.float16).float().view(torch.int32).numpy().astype('<u4')
bf16 = codes.view(torch.bfloat16).float().view(torch.int32).numpy().astype('<u4')

rng = np.random.default_rng(1234)
edge = []
for base in range(0x33000000 - 4, 0x33000000 + 4):  # around half(2^-25) rounding to zero / min subnormal
    edge.append(base)
for e in range(100, 145):  # every exponent near half's range, with tie and near-tie mantissas
    for m in (0, 1, 0x0FFF, 0x1000, 0x1001, 0x2000, 0x3000, 0x7FFF, 0x8000, 0x8001, 0x18000, 0x7FFFFF, 0x7FE000, 0x7FF000):
        edge.append((e << 23) | m)
edge += [0, 0x7F800000, 0x7FC00000, 0x7F800001, 0x7FFFFFFF, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x7F7FFFFF,
         0x7F7F8000, 0x7F7F7FFF, 0x00000001, 0x00800000, 0x3F808000, 0x3F818000, 0x3F80FFFF]
edge += [x | 0x80000000 for x in list(edge)]
rand = rng.integers(0, 2**32, size=6000, dtype=np.uint64).astype(np.uint32)
inputs = np.concatenate([np.array(edge, dtype=np.uint32), rand]).astype('<u4')
x = torch.from_numpy(inputs.view(np.int32).copy()).view(torch.float32)
half_bits = x.half().view(torch.int16).numpy().astype('<u2')
bf_bits = x.bfloat16().view(torch.int16).numpy().astype('<u2')

out = f16.tobytes() + bf16.tobytes() + struct.pack('<I', len(inputs)) + inputs.tobytes() + half_bits.tobytes() + bf_bits.tobytes()
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'half-bits.bin.gz')
with open(path, 'wb') as fh:
    fh.write(gzip.compress(out, compresslevel=9, mtime=0))
print(path, len(out), os.path.getsize(path), 'torch', torch.__version__)
