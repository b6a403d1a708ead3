#!/bin/sh
# Writes Redis's ACL file from the environment, then runs the rest of its command line:
#
#   sh users-acl.sh ACL_FILE [redis-server --aclfile ACL_FILE ...]
#
# One user per service, each allowed only the commands, keys and pub/sub channels
# it uses; the default user is off. No user may run CONFIG, FLUSHALL, FLUSHDB, DEBUG,
# SHUTDOWN, KEYS, MONITOR, ACL, MODULE, SAVE, REPLICAOF, MIGRATE, RESTORE, CLIENT KILL...
# One more user only when its password is set: keda (Kubernetes' KEDA reads the queue
# lengths; compose has no use for it).
# Every password is REQUIRED (REDIS_PASSWORD_<USER>, e.g. REDIS_PASSWORD_WEB): at
# least 16 characters among A-Z a-z 0-9 _ - (they go into redis:// URLs). They
# only ever reach ACL_FILE (mode 0600), never the repository or a command line.
# docker-compose.yml runs this in the redis container; tests/deploy runs it too.
set -eu

# --- commands, by what needs them ------------------------------------------------------
# AUTH and HELLO need no grant. redis-py's CLIENT SETINFO (Redis >= 7.2) is refused and
# ignored by redis-py; granting it would make this file unreadable for Redis 7.0.
connection="+ping +select +echo +client|setname +client|getname +client|id"
# Celery through kombu's Redis transport: queues are lists (LPUSH, BRPOP, LLEN),
# bindings sets, unacked messages a hash + sorted set guarded by a SET NX mutex
# (WATCH/MULTI/EXEC), binding deadlines a Lua script (kombu >= 5.6), broadcasts
# (remote control: ping, inspect) PUBLISH/PSUBSCRIBE.
kombu="+lpush +rpush +brpop +rpop +llen +del +exists +expire +pexpire
 +sadd +srem +smembers +scard +set +get +hset +hget +hdel +hgetall
 +zadd +zrem +zrange +zrangebyscore +zrevrangebyscore
 +multi +exec +watch +unwatch +discard
 +evalsha +eval +script|load +script|exists +time
 +publish +psubscribe +punsubscribe +subscribe +unsubscribe"
# Lifeboat's job store, prediction log, feedback (its capped index: HLEN), monitoring
# window, API keys, tenants' quotas and per-key rate limits (the Lua scripts in
# core/scripts run with the caller's permissions, so their commands are here too:
# DECRBY trims the log's counter, LREM takes a discarded job off the pending list; ZCOUNT
# counts the live workers of a queue).
store="+hmget +zcount +hsetnx +hincrby +hvals +incrby +decrby +lpop +lrange +lrem +ltrim +lindex
 +expireat +pexpireat +ttl +pttl +mget +incr +getdel +type
 +hlen +zcard +zrevrange +zremrangebyscore +zrangebylex +zscore +zmscore
 +xadd +xrange +xrevrange +xlen +xtrim +sismember +smismember"
# KEDA's Redis scaler: the length of a queue through a Lua script (EVAL) that asks the
# key's TYPE, then LLEN.
queue_length="+eval +type +llen"
# redis_exporter: server statistics only (INFO, SLOWLOG, LATENCY, memory figures).
stats="+info +slowlog|get +slowlog|len +latency|latest +dbsize
 +memory|stats +client|list +cluster|info"

# --- keys and channels -----------------------------------------------------------------
# Celery's queues alone (and their priority variants): what KEDA may read.
queue_keys="~predictions* ~batches* ~reports* ~webhooks* ~shadow*"
# Celery's keys: queues (and their priority variants), kombu's bindings and unacked
# messages, the event queues of Flower and celery-exporter, remote-control reply queues.
celery_keys="~predictions* ~batches* ~reports* ~webhooks* ~shadow* ~_kombu.* ~unacked* ~celeryev.* ~*.pidbox*"
# Broadcasts (kombu's fanout exchanges): remote control (ping, inspect) and task/worker
# events. kombu PSUBSCRIBEs patterns ("/0.celeryev/*", "/0.celeryev/worker.*"), which
# an ACL matches literally: database 0, as in every LIFEBOAT_REDIS_URL of the stack.
celery_channels="&/0.celery.pidbox &/0.celeryev/* &/0.celeryev/worker.*"
# A Celery client subscribes to a task's result channel when it sends the task (even
# though Lifeboat's tasks store no result: results live in the job store).
result_channels="&celery-task-meta-*"
# Lifeboat's own keys and channel (LIFEBOAT_KEY_PREFIX=lifeboat, the default); "~" alone
# grants the empty key name, which the job store's scripts are given for an optional
# key they do not use (an idempotency key, a pending list).
app_keys="~lifeboat:* ~"
app_channels="&lifeboat:*"

die() { echo "users-acl.sh: $*" >&2; exit 1; }

# user NAME RULES...: one ACL line; the password is $REDIS_PASSWORD_<NAME>
user() {
    name=$1
    shift
    var=REDIS_PASSWORD_$(echo "$name" | tr 'a-z-' 'A-Z_')
    eval "password=\${$var:-}"
    [ -n "$password" ] || die "$var is not set"
    case $password in
        *[!A-Za-z0-9_-]*) die "$var: use only A-Z a-z 0-9 _ -" ;;
    esac
    [ "${#password}" -ge 16 ] || die "$var: at least 16 characters"
    # shellcheck disable=SC2086 # rules are word lists on purpose
    echo "user $name on >$password resetkeys resetchannels -@all" $* | tr -s ' \n' '  '
    echo
}

[ $# -ge 1 ] || die "usage: users-acl.sh ACL_FILE [command...]"
acl_file=$1
shift
umask 077
trap 'rm -f "$acl_file.tmp"' EXIT  # no half-written file when a password is refused
{
    echo "user default off resetpass resetkeys resetchannels -@all"
    user web $connection $kombu $store $celery_keys $app_keys \
        $celery_channels $result_channels $app_channels
    user worker $connection $kombu $store $celery_keys $app_keys \
        $celery_channels $result_channels $app_channels
    user flower $connection $kombu $celery_keys $celery_channels
    user celery-exporter $connection $kombu $celery_keys $celery_channels
    user redis-exporter $connection $stats
    # optional: only a cluster with KEDA needs it
    if [ -n "${REDIS_PASSWORD_KEDA:-}" ]; then
        user keda $connection $queue_length $queue_keys
    fi
} >"$acl_file.tmp"
mv "$acl_file.tmp" "$acl_file"
[ $# -eq 0 ] || exec "$@"
