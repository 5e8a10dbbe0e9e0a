{
  "targets": [{ "target_name": "x_mmap", "sources": ["src/x_mmap.c"] }]
}
