/* What slurm.c (which runs the commands) and slurm-parse.c (which reads
 * them) must agree on: the output formats asked for and the headers they
 * print. tests/slurm/capture-fixtures.sh asks for the same ones. */
#pragma once

#include <glib.h>

/* "123", "123_4", or an array's range "123_[4-9%2]": digits first, then only
 * digits and "_[]-,%". */
gboolean strand_slurm_valid_job_id (const char *id);

/* squeue --Format: every field ends in '|' and has no width, so nothing is
 * padded or cut. The free texts (reason, name) come last; the name may hold
 * '|'. */
#define STRAND_SQUEUE_FORMAT                                                              \
  "JobArrayID:|,JobID:|,ArrayJobID:|,ArrayTaskID:|,State:|,Partition:|,NodeList:|,"       \
  "SubmitTime:|,StartTime:|,EndTime:|,TimeLimit:|,NumCPUs:|,Account:|,UserName:|,"        \
  "Reason:|,Name:|"
#define STRAND_SQUEUE_HEADER                                                              \
  "JOBID|JOBID|ARRAY_JOB_ID|ARRAY_TASK_ID|STATE|PARTITION|NODELIST|SUBMIT_TIME|"          \
  "START_TIME|END_TIME|TIME_LIMIT|CPUS|ACCOUNT|USER|REASON|NAME|"

/* sinfo --Node --Format: one line per node and partition; the reason, free
 * text that may hold '|', comes last. */
#define STRAND_SINFO_FORMAT                                                               \
  "NodeList:|,StateComplete:|,CPUsState:|,Memory:|,AllocMem:|,Partition:|,Timestamp:|,"   \
  "User:|,Reason:|"
#define STRAND_SINFO_HEADER                                                               \
  "NODELIST|STATECOMPLETE|CPUS(A/I/O/T)|MEMORY|ALLOCMEM|PARTITION|TIMESTAMP|USER|REASON|"

/* sacct --parsable2 (no trailing '|'); the job name, free text, last. */
#define STRAND_SACCT_FORMAT                                                               \
  "JobID,JobIDRaw,State,ExitCode,Partition,NodeList,Submit,Start,End,Timelimit,"          \
  "AllocCPUS,Account,User,JobName"
#define STRAND_SACCT_HEADER                                                               \
  "JobID|JobIDRaw|State|ExitCode|Partition|NodeList|Submit|Start|End|Timelimit|"          \
  "AllocCPUS|Account|User|JobName"
