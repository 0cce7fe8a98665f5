/** This process was started by mpirun (or another Open MPI launcher), which sets OMPI_COMM_WORLD_SIZE. */
export function launchedByMpirun(): boolean {
  return process.env.OMPI_COMM_WORLD_SIZE !== undefined;
}
