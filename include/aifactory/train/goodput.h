// Time to train with failures: job interruptions at a rate per GPU-hour, checkpoints at the
// interval of Young (1974) / Daly (2006), lost work and restarts, and the resulting goodput.
#pragma once

#include "aifactory/core/units.h"

namespace aif::train {

struct ReliabilityInputs {
  double interruptions_per_gpu_hour = 0;  // unexpected job interruptions, per GPU-hour
  Seconds checkpoint_write;               // time training stalls to save one checkpoint
  Seconds restart;                        // failure detection, rescheduling and checkpoint restore
};

struct Goodput {
  Seconds job_mtbf;             // mean time between interruptions of the whole job
  Seconds checkpoint_interval;  // Daly's optimum (Young's to first order), compute time between saves
  Seconds wall_time;            // expected elapsed time to finish `useful` compute
  double expected_interruptions = 0;
  double effective_fraction = 1;  // useful time / elapsed time
  // Shares of the elapsed time.
  double checkpoint_fraction = 0, lost_work_fraction = 0, restart_fraction = 0;
};

// Young's interval sqrt(2 * delta * M).
Seconds YoungInterval(Seconds checkpoint_write, Seconds mtbf);
// Daly's higher-order optimum (Daly 2006, eq. 37): for delta < 2M,
// sqrt(2 delta M) * (1 + sqrt(delta / 2M) / 3 + (delta / 2M) / 9) - delta; else M.
Seconds DalyInterval(Seconds checkpoint_write, Seconds mtbf);

// Expected elapsed time for `useful` seconds of training on `gpus` GPUs (Daly 2006, eq. 20,
// exponential failures): T = M e^{R/M} (e^{(tau + delta)/M} - 1) useful / tau.
Goodput EstimateGoodput(Seconds useful, int gpus, const ReliabilityInputs& inputs);

}  // namespace aif::train
