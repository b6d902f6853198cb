#include "aifactory/train/goodput.h"

#include <cmath>

namespace aif::train {

Seconds YoungInterval(Seconds checkpoint_write, Seconds mtbf) {
  return Seconds(std::sqrt(2 * checkpoint_write.value() * mtbf.value()));
}

Seconds DalyInterval(Seconds checkpoint_write, Seconds mtbf) {
  double d = checkpoint_write.value(), m = mtbf.value();
  if (d >= 2 * m) return mtbf;
  double x = d / (2 * m);
  return Seconds(std::sqrt(2 * d * m) * (1 + std::sqrt(x) / 3 + x / 9) - d);
}

Goodput EstimateGoodput(Seconds useful, int gpus, const ReliabilityInputs& in) {
  Goodput g;
  double rate = in.interruptions_per_gpu_hour * gpus / 3600.0;  // per second, whole job
  if (rate <= 0 || useful.value() <= 0) {
    // No failures: checkpoints are not needed for progress; the run takes its compute time.
    g.job_mtbf = Seconds(INFINITY);
    g.checkpoint_interval = useful;
    g.wall_time = useful;
    return g;
  }
  double m = 1 / rate, d = in.checkpoint_write.value(), r = in.restart.value();
  g.job_mtbf = Seconds(m);
  double tau = d > 0 ? DalyInterval(in.checkpoint_write, g.job_mtbf).value() : useful.value();
  tau = std::min(tau, useful.value());
  g.checkpoint_interval = Seconds(tau);
  double wall = m * std::exp(r / m) * std::expm1((tau + d) / m) * useful.value() / tau;
  g.wall_time = Seconds(wall);
  g.expected_interruptions = wall * rate;
  g.effective_fraction = useful.value() / wall;
  // Split the overhead: checkpoint writes, then restarts, and the rest is re-done work.
  double segments = useful.value() / tau;
  g.checkpoint_fraction = segments * d / wall;
  g.restart_fraction = g.expected_interruptions * r / wall;
  g.lost_work_fraction = std::max(0.0, 1 - g.effective_fraction - g.checkpoint_fraction - g.restart_fraction);
  return g;
}

}  // namespace aif::train
