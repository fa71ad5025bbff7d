/* The program the live Slurm tests run as a job:
 *
 *   slurm-tiny-job write FILE TEXT [STATUS]   writes TEXT to FILE, says so, exits STATUS
 *   slurm-tiny-job sleep SECONDS              sleeps (a job to cancel)
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  if (argc >= 4 && g_str_equal (argv[1], "write"))
    {
      g_autoptr (GError) error = NULL;
      if (!g_file_set_contents (argv[2], argv[3], -1, &error))
        {
          fprintf (stderr, "tiny-job: %s\n", error->message);
          return 2;
        }
      printf ("tiny-job wrote %s\n", argv[2]);
      return argc >= 5 ? atoi (argv[4]) : 0;
    }
  if (argc == 3 && g_str_equal (argv[1], "sleep"))
    {
      g_usleep ((gulong) atoi (argv[2]) * G_USEC_PER_SEC);
      return 0;
    }
  fprintf (stderr, "usage: slurm-tiny-job write FILE TEXT [STATUS] | sleep SECONDS\n");
  return 2;
}
