# The MPI addon (src/distributed/mpi.ts loads it): built by `npm run build:mpi`
# (scripts/build-mpi.sh), which compiles and links through the MPI's own compiler wrapper
# (CC=mpicc), so any MPI's include and library flags apply without naming them here.
{
  "targets": [
    {
      "target_name": "relpo_mpi",
      "sources": ["relpo_mpi.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}
