"""Real-looking log records from 16 systems, generated deterministically: the search benchmark's data.

``records(n, seed, start_ns)`` yields the same ``n`` LogTrace entries for the same
arguments: lines in the styles of HDFS, Hadoop, Spark, Zookeeper, BGL, HPC,
Thunderbird, Windows, Linux (auth), Android, HealthApp, Apache, Proxifier,
OpenSSH, OpenStack and Mac logs (templates written for this project, filled
with seeded values), each ending in a unique ``rid=<n>`` token, at one of four
levels, named by its system as ``service``, with timestamps spread evenly over
one hour from ``start_ns`` (distinct microseconds, so "newest first" has one
answer in every system).

The templates keep the benchmark's query words in known casings, so queries
that differ in case sensitivity between systems still select the same rows:
``failed`` appears only as ``failed``, ``Failed`` or ``FAILED`` and never next to
an underscore, and ``authentication`` (with the phrase ``authentication failure``)
only in lower case. bench/search.py checks that both systems return the same rows.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Iterator

HOUR_NS = 3_600_000_000_000
Template = tuple[str, Callable[[random.Random], str]]  # (level, message without the rid)


def _ip(r: random.Random) -> str:
    return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def _blk(r: random.Random) -> str:
    return f"blk_{'-' if r.random() < 0.5 else ''}{r.randrange(10**18, 10**19)}"


def _hex(r: random.Random, n: int = 8) -> str:
    return f"{r.getrandbits(4 * n):0{n}x}"


_USERS = ("root", "admin", "oracle", "test", "guest", "ubuntu", "git", "postgres", "ftpuser", "www-data")
_PATHS = ("/index.html", "/api/v1/orders", "/login", "/static/app.js", "/images/logo.png", "/cgi-bin/status")
_APPS = ("com.android.phone", "com.tencent.mm", "com.google.android.gms", "system_server")

SYSTEMS: dict[str, list[Template]] = {
    "HDFS": [
        ("INFO", lambda r: f"Receiving block {_blk(r)} src: /{_ip(r)}:{r.randrange(40000, 60000)} dest: /{_ip(r)}:50010"),
        ("INFO", lambda r: f"PacketResponder {r.randrange(3)} for block {_blk(r)} terminating"),
        ("INFO", lambda r: f"BLOCK* NameSystem.addStoredBlock: blockMap updated: {_ip(r)}:50010 is added to "
                           f"{_blk(r)} size {r.randrange(1, 67108864)}"),
        ("WARN", lambda r: f"Slow BlockReceiver write packet to mirror took {r.randrange(300, 9000)}ms"),
        ("ERROR", lambda r: f"DataXceiver error processing WRITE_BLOCK operation src: /{_ip(r)}:{r.randrange(40000, 60000)}"),
        ("ERROR", lambda r: f"Write of block {_blk(r)} failed: connection reset by peer"),
    ],
    "Hadoop": [
        ("INFO", lambda r: f"Progress of TaskAttempt attempt_{r.randrange(10**12)}_{r.randrange(9999):04d}_m_{r.randrange(99):06d}_0 is : 0.{r.randrange(10**6)}"),
        ("INFO", lambda r: f"Added attempt to list of failed maps count {r.randrange(10)}"),
        ("WARN", lambda r: f"Address change detected. Old: msra-sa-{r.randrange(60)}/{_ip(r)}:9000 New: msra-sa-{r.randrange(60)}:9000"),
        ("ERROR", lambda r: f"Task attempt {r.randrange(10**6)} FAILED with exit code {r.randrange(1, 143)}"),
    ],
    "Spark": [
        ("INFO", lambda r: f"Finished task {r.randrange(200)}.0 in stage {r.randrange(50)}.0 (TID {r.randrange(10**5)}) "
                           f"in {r.randrange(5, 9000)} ms on {_ip(r)} (executor {r.randrange(40)})"),
        ("INFO", lambda r: f"Block broadcast_{r.randrange(500)} stored as values in memory (estimated size {r.randrange(1, 900)}.{r.randrange(10)} KB)"),
        ("DEBUG", lambda r: f"Registering RDD {r.randrange(900)} (map at SparkJob.scala:{r.randrange(30, 400)})"),
        ("WARN", lambda r: f"Lost task {r.randrange(200)}.1 in stage {r.randrange(50)}.0: ExecutorLostFailure"),
        ("ERROR", lambda r: f"Task {r.randrange(200)} in stage {r.randrange(50)}.0 failed 4 times; aborting job"),
    ],
    "Zookeeper": [
        ("INFO", lambda r: f"Accepted socket connection from /{_ip(r)}:{r.randrange(30000, 60000)}"),
        ("INFO", lambda r: f"Client attempting to establish new session at /{_ip(r)}:{r.randrange(30000, 60000)}"),
        ("WARN", lambda r: f"caught end of stream exception; session 0x{_hex(r, 15)} likely client has closed socket"),
        ("ERROR", lambda r: f"Connection broken for id {r.randrange(1, 6)}, my id = {r.randrange(1, 6)}, error = "),
    ],
    "BGL": [
        ("INFO", lambda r: f"instruction cache parity error corrected on node R{r.randrange(80):02d}-M{r.randrange(2)}-N{r.randrange(16)}"),
        ("INFO", lambda r: f"generating core.{r.randrange(10**4)}"),
        ("ERROR", lambda r: f"data TLB error interrupt on rank {r.randrange(10**4)}"),
        ("ERROR", lambda r: f"ciod: LOGIN chdir(/p/gb{r.randrange(3)}/stella/RAPTOR/{r.randrange(3000)}) failed: No such file or directory"),
    ],
    "HPC": [
        ("INFO", lambda r: f"node-{r.randrange(256)} running job {r.randrange(10**5)} state change to RUNNING"),
        ("WARN", lambda r: f"Temperature ({r.randrange(60, 90)}C) exceeds warning threshold on node-{r.randrange(256)}"),
        ("ERROR", lambda r: f"ClusterFileSystem: There is no server for ServerFileSystem domain storage{r.randrange(600)}"),
    ],
    "Thunderbird": [
        ("INFO", lambda r: f"kernel: e1000: eth{r.randrange(2)}: e1000_watchdog: NIC Link is Up 1000 Mbps Full Duplex"),
        ("INFO", lambda r: f"crond[{r.randrange(1000, 32000)}]: (root) CMD (run-parts /etc/cron.hourly)"),
        ("WARN", lambda r: f"kernel: mptscsih: ioc{r.randrange(2)}: attempting task abort! (sc={_hex(r, 16)})"),
        ("ERROR", lambda r: f"ib_sm.x[{r.randrange(1000, 32000)}]: Failed to get port info for node {_hex(r, 16)}"),
    ],
    "Windows": [
        ("INFO", lambda r: f"CBS Loaded Servicing Stack v6.1.7601.{r.randrange(23000, 24000)} with Core: "
                           f"C:\\Windows\\winsxs\\amd64_{_hex(r, 12)}\\cbscore.dll"),
        ("INFO", lambda r: f"CSI {r.randrange(10**8):08x} Warning: Unrecognized packageExtended attribute."),
        ("ERROR", lambda r: f"CBS Failed to internally open package. [HRESULT = 0x800f0805 - CBS_E_INVALID_PACKAGE]"),
    ],
    "Linux": [
        ("INFO", lambda r: f"sshd(pam_unix)[{r.randrange(1000, 32000)}]: session opened for user {r.choice(_USERS)} by (uid=0)"),
        ("INFO", lambda r: f"sshd(pam_unix)[{r.randrange(1000, 32000)}]: session closed for user {r.choice(_USERS)}"),
        ("WARN", lambda r: f"sshd(pam_unix)[{r.randrange(1000, 32000)}]: authentication failure; logname= uid=0 "
                           f"euid=0 tty=NODEVssh ruser= rhost={_ip(r)} user={r.choice(_USERS)}"),
        ("INFO", lambda r: f"su(pam_unix)[{r.randrange(1000, 32000)}]: session opened for user news by (uid=0)"),
        ("ERROR", lambda r: f"ftpd[{r.randrange(1000, 32000)}]: connection from {_ip(r)} () at Sun Jul 10 03:55:15 2005"),
        ("DEBUG", lambda r: f"kernel: klogd 1.4.1, log source = /proc/kmsg started."),
    ],
    "Android": [
        ("DEBUG", lambda r: f"PowerManagerService: acquire lock={r.randrange(10**9)}, flags=0x1, tag=\"View Lock\", "
                            f"name={r.choice(_APPS)}, ws=null, uid={r.randrange(1000, 11000)}, pid={r.randrange(1000, 32000)}"),
        ("INFO", lambda r: f"ActivityManager: Start proc {r.randrange(1000, 32000)}:{r.choice(_APPS)} for service"),
        ("WARN", lambda r: f"WindowManager: Window {_hex(r)} u0 {r.choice(_APPS)} not ready for display"),
        ("ERROR", lambda r: f"AndroidRuntime: FATAL EXCEPTION: main Process: {r.choice(_APPS)}, PID: {r.randrange(1000, 32000)}"),
    ],
    "HealthApp": [
        ("INFO", lambda r: f"Step_LSC|onStandStepChanged {r.randrange(1000, 9000)}"),
        ("INFO", lambda r: f"Step_SPUtils|getTodayTotalDetailSteps = {r.randrange(10**12)}##{r.randrange(9000)}##"
                           f"{r.randrange(10**6)}##{r.randrange(10**4)}"),
        ("DEBUG", lambda r: f"Step_StandReportReceiver|onReceive action: android.intent.action.SCREEN_ON"),
        ("ERROR", lambda r: f"HiH_HiSyncControl|sync failed, error code {r.randrange(1, 50)}"),
    ],
    "Apache": [
        ("INFO", lambda r: f"jk2_init() Found child {r.randrange(1000, 32000)} in scoreboard slot {r.randrange(10)}"),
        ("INFO", lambda r: f"workerEnv.init() ok /etc/httpd/conf/workers2.properties"),
        ("ERROR", lambda r: f"mod_jk child workerEnv in error state {r.randrange(10)}"),
        ("ERROR", lambda r: f"[client {_ip(r)}] Directory index forbidden by rule: /var/www/html{r.choice(_PATHS)}"),
    ],
    "Proxifier": [
        ("INFO", lambda r: f"chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS"),
        ("INFO", lambda r: f"chrome.exe - {_ip(r)}:443 close, {r.randrange(100, 10**6)} bytes sent, "
                           f"{r.randrange(100, 10**7)} bytes received, lifetime {r.randrange(1, 300)} sec"),
        ("WARN", lambda r: f"WeChat.exe - {_ip(r)}:80 error : Could not connect through proxy proxy.cse.cuhk.edu.hk:5070"),
    ],
    "OpenSSH": [
        ("INFO", lambda r: f"sshd[{r.randrange(1000, 32000)}]: Accepted password for {r.choice(_USERS)} from {_ip(r)} "
                           f"port {r.randrange(1024, 65535)} ssh2"),
        ("WARN", lambda r: f"sshd[{r.randrange(1000, 32000)}]: Failed password for invalid user {r.choice(_USERS)} "
                           f"from {_ip(r)} port {r.randrange(1024, 65535)} ssh2"),
        ("WARN", lambda r: f"sshd[{r.randrange(1000, 32000)}]: Failed password for {r.choice(_USERS)} from {_ip(r)} "
                           f"port {r.randrange(1024, 65535)} ssh2"),
        ("INFO", lambda r: f"sshd[{r.randrange(1000, 32000)}]: Received disconnect from {_ip(r)}: 11: Bye Bye [preauth]"),
        ("ERROR", lambda r: f"sshd[{r.randrange(1000, 32000)}]: error: Received disconnect from {_ip(r)}: 3: "
                            f"com.jcraft.jsch.JSchException: Auth fail [preauth]"),
    ],
    "OpenStack": [
        ("INFO", lambda r: f"nova.compute.manager [req-{_hex(r)}-{_hex(r, 4)}] [instance: {_hex(r)}-{_hex(r, 4)}] "
                           f"VM Started (Lifecycle Event)"),
        ("INFO", lambda r: f"nova.osapi_compute.wsgi.server \"GET /v2/{_hex(r, 32)}/servers/detail HTTP/1.1\" "
                           f"status: 200 len: {r.randrange(1000, 5000)} time: 0.{r.randrange(10**7):07d}"),
        ("WARN", lambda r: f"nova.compute.manager [instance: {_hex(r)}-{_hex(r, 4)}] During sync_power_state the "
                           f"instance has a pending task (spawning). Skip."),
        ("ERROR", lambda r: f"nova.compute.manager [instance: {_hex(r)}-{_hex(r, 4)}] Instance failed to spawn"),
    ],
    "Mac": [
        ("INFO", lambda r: f"kernel[0]: AppleThunderboltNHIType2::prePCIWake - power up complete - took {r.randrange(1, 900)} us"),
        ("DEBUG", lambda r: f"com.apple.cts[{r.randrange(40, 900)}]: com.apple.suggestions.harvest: scheduler_evaluate_activity"),
        ("WARN", lambda r: f"WindowServer[{r.randrange(100, 999)}]: CGXDisplayDidWakeNotification [{r.randrange(10**12)}]: "
                           f"posting kCGSDisplayDidWake"),
        ("ERROR", lambda r: f"mDNSResponder[{r.randrange(50, 200)}]: mDNS_RegisterInterface: Frequent transitions for interface en0"),
    ],
}
SERVICES = tuple(SYSTEMS)
_FLAT = [(service, level, make) for service, templates in SYSTEMS.items() for level, make in templates]
_HOSTS = tuple(f"node-{i:03d}" for i in range(64))


@lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def iso(ns: int) -> str:
    """``ns`` as ISO 8601 UTC to the microsecond, as the records carry it."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return f"{_second(seconds)}.{rest // 1000:06d}Z"


def timestamp_ns(i: int, n: int, start_ns: int) -> int:
    """Record ``i``'s time: ``n`` records evenly over the hour, on distinct microseconds."""
    return start_ns + (i * (HOUR_NS // 1000) // n) * 1000


def records(n: int, start_ns: int, seed: int = 29, first: int = 0, count: int | None = None) -> Iterator[dict]:
    """Records ``first`` .. ``first + count`` of the ``n``: the same entries for the same arguments."""
    end = n if count is None else min(n, first + count)
    r = random.Random(seed * 1_000_003 + first)  # a batch is generated alone, by its first index
    for i in range(first, end):
        service, level, make = _FLAT[r.randrange(len(_FLAT))]
        yield {"timestamp": iso(timestamp_ns(i, n, start_ns)), "level": level, "service": service,
               "message": f"{make(r)} rid={i}", "attributes": {"host": _HOSTS[r.randrange(len(_HOSTS))]}}
