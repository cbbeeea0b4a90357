// Every intake stat in one place, prefix lapor_intake_.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace lapor::intake {

struct IntakeMetrics {
  explicit IntakeMetrics(prometheus::Registry& r);
  prometheus::Family<prometheus::Counter>& submitted;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Family<prometheus::Histogram>& submit_seconds;
  prometheus::Family<prometheus::Counter>& view_events;
  prometheus::Family<prometheus::Counter>& duplicates;
  prometheus::Family<prometheus::Counter>& open311_requests;
};

}  // namespace lapor::intake
