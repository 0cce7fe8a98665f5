{
  "targets": [
    {
      "target_name": "lockstep_mpi",
      "sources": ["mpi.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "OMPI_SKIP_MPICXX"],
      "cflags_cc": ["<!@(mpicc --showme:compile)"],
      "libraries": ["<!@(mpicc --showme:link)"]
    }
  ]
}
