{
  "targets": [
    {
      "target_name": "helios_blake3",
      "sources": [
        "native/blake3/blake3_kernel.c",
        "native/blake3/binding.c"
      ],
      "include_dirs": ["native/blake3"],
      "cflags!": ["-O0", "-O1", "-O2", "-march=native"],
      "cflags_c": [
        "-O3",
        "-std=gnu11",
        "-fvisibility=hidden",
        "-fno-strict-aliasing",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-std=gnu11", "-fvisibility=hidden"]
      }
    }
  ]
}
