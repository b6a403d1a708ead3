"""The bench's per-job figures: CPU by stack part and Redis commands, from a meter's report."""

from __future__ import annotations

from bench.cpu import per_job


def test_cpu_and_commands_per_job_are_grouped_by_stack_part_without_the_meters_info() -> None:
    report = {
        "cpu_seconds": {
            "web-children": 3.0,
            "web-main": 1.0,
            "worker-main": 1.0,
            "worker-children": 0.5,
            "redis-main": 0.5,
            "load-process": 9.0,  # the load generator is not the stack
        },
        "redis_commands": {"hset": 4000, "evalsha": 2000, "info": 1},
    }
    figures = per_job(report, 2000)
    assert figures["cpu_ms"] == {"web": 2.0, "worker": 0.75, "redis": 0.25, "stack": 3.0}
    assert figures["redis_commands"] == 3.0
    assert figures["redis_commands_by_name"] == {"hset": 2.0, "evalsha": 1.0}


def test_no_jobs_no_figures() -> None:
    assert per_job({"cpu_seconds": {"web-main": 1.0}}, 0) == {}
