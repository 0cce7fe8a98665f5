{
  "targets": [
    {
      "target_name": "lockstep_native",
      "sources": ["kernels.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off"]
    }
  ]
}
