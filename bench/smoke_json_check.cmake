# Checks that the smoke run's JSON result carries every figure the table is built from: the
# broker's heap and request threads, the warm-up (how long, and the broker's JIT share when it ended), the baselines (raw and transactional Kafka hop, gRPC call), and per step the delivered latency of
# all complaints and of the EMERGENCY ones, with the ratio to the transactional hop, the
# readers of the lifecycle topic and what Redis did per complaint. Presence
# and shape only: nothing here judges a speed.
# The per-complaint CSV must carry each complaint's priority and the wall-clock time of its
# acceptance.
#   cmake -DJSON=<path> -DCSV=<path> -P smoke_json_check.cmake
if(NOT EXISTS "${JSON}")
  message(FATAL_ERROR "no benchmark result at ${JSON} (did bench.smoke run?)")
endif()
file(READ "${JSON}" doc)

function(require)
  string(JSON value ERROR_VARIABLE err GET "${doc}" ${ARGN})
  if(err)
    string(REPLACE ";" "." where "${ARGN}")
    message(FATAL_ERROR "${JSON}: missing ${where}: ${err}")
  endif()
  set(value "${value}" PARENT_SCOPE)
endfunction()

# The broker's heap, read from its command line (the run's broker is the test broker here).
require(broker_heap)
if(NOT value MATCHES "-Xmx[0-9]+[kKmMgG]?")
  message(FATAL_ERROR "${JSON}: broker_heap '${value}' names no -Xmx")
endif()

# The broker's request threads, read from its properties (deploy/local/lib.sh sizes them).
require(broker_threads)
if(NOT value MATCHES "^[0-9]+ network, [0-9]+ I/O$")
  message(FATAL_ERROR "${JSON}: broker_threads '${value}' is not '<n> network, <n> I/O'")
endif()

set(percentiles count p50_ms p90_ms p99_ms p999_ms max_ms)
foreach(hop kafka transactional grpc)
  foreach(p IN LISTS percentiles)
    require(baselines ${hop} latency ${p})
  endforeach()
  require(baselines ${hop} throughput_per_second)
endforeach()
foreach(f rate sent received errors transactions_aborted)
  require(baselines transactional ${f})
endforeach()
require(baselines transactional received)
if(value EQUAL 0)
  message(FATAL_ERROR "${JSON}: the transactional hop received nothing")
endif()

# The warm-up watched the broker's JIT and stopped at its limit: with --warmup-jit-below 0 it
# can never settle, so it ends by --warmup-max-seconds after more than one round.
foreach(f seconds rounds settled broker_jit_share_of_a_core_last_round seconds_after_baselines
          rounds_after_baselines)
  require(warmup ${f})
endforeach()
require(warmup rounds)
if(value LESS 2)
  message(FATAL_ERROR "${JSON}: the warm-up ran ${value} round(s); the broker's JIT was not watched")
endif()
require(warmup rounds_after_baselines)
if(value LESS 1)
  message(FATAL_ERROR "${JSON}: no warm-up round after the baselines")
endif()
require(warmup settled)
if(value)
  message(FATAL_ERROR "${JSON}: the warm-up settled below a share of 0")
endif()

string(JSON steps LENGTH "${doc}" steps)
if(steps EQUAL 0)
  message(FATAL_ERROR "${JSON}: no steps")
endif()
math(EXPR last "${steps} - 1")
foreach(i RANGE ${last})
  require(steps ${i} emergency accepted)
  require(steps ${i} emergency completed)
  foreach(p IN LISTS percentiles)
    require(steps ${i} emergency delivered_latency ${p})
    require(steps ${i} emergency submit_latency ${p})
    require(steps ${i} emergency stages accepted_to_dispatched ${p})
    require(steps ${i} emergency stages dispatched_to_agency_stream ${p})
  endforeach()
  require(steps ${i} ratios delivered_p99_over_transactional_p99)
  # How far the lifecycle topic's readers were behind, and when they had read it all.
  require(steps ${i} readers caught_up_seconds)
  foreach(g lapor-intake-view lapor-intake-notify lapor-routing lapor-notification lapor-sla-monitor)
    require(steps ${i} readers behind_at_last_delivery ${g})
    if(value LESS 0)
      message(FATAL_ERROR "${JSON}: step ${i}: the offsets of ${g} could not be read")
    endif()
  endforeach()
  # How busy the machine was meanwhile (null where the kernel has no /proc/pressure/cpu).
  require(steps ${i} cpu_pressure_some)
  # What Redis did for the step's complaints (INFO commandstats and stats over the step).
  foreach(f commands script_calls reads bytes_in commands_per_complaint
            script_calls_per_complaint reads_per_complaint bytes_in_per_complaint)
    require(steps ${i} redis ${f})
  endforeach()
  require(steps ${i} redis commands)
  if(NOT value GREATER 0)
    message(FATAL_ERROR "${JSON}: step ${i}: no Redis command counted")
  endif()
endforeach()
file(STRINGS "${CSV}" header LIMIT_COUNT 1)
if(NOT header MATCHES ",priority,accepted_unix_ms$")
  message(FATAL_ERROR "${CSV}: no priority and acceptance time columns in '${header}'")
endif()
# An acceptance time is a Unix time in ms (13 digits until 2286).
file(STRINGS "${CSV}" emergency REGEX ",PRIORITY_EMERGENCY,[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$"
     LIMIT_COUNT 1)
if(NOT emergency)
  message(FATAL_ERROR "${CSV}: no complaint of priority PRIORITY_EMERGENCY")
endif()
message(STATUS "${JSON}: ${steps} steps, every baseline, emergency, reader and Redis figure present")
