"""The exit statuses of `searchsvc` commands, which the scheduler and scripts read.

  0   done (bad files are skipped and reported, not fatal);
  1   not found, or no index to search;
  2   bad usage or configuration, or no content root;
  70  the index run failed part-way: a worker process died (killed, out of memory);
      the index is as it was;
  73  the index cannot be written (full disk, I/O error, read-only, damaged); the index
      is as it was;
  75  the index is busy: another run held it for `index.lock_timeout` seconds.

A run killed by a signal (by hand, or by the scheduler at `index.run_timeout`) has no
status of its own: the shell shows 128 + the signal. (Their own module: the command line
starts the scheduler, and the scheduler reads the statuses of the runs it starts.)
"""

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 70
EXIT_CANT_WRITE = 73
EXIT_BUSY = 75
