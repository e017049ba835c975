/*
 * A Kafka-protocol broker for tests: librdkafka's mock cluster behind a line protocol.
 *
 *   kafka-mock-launcher [brokers]        (default 3)
 *
 * Prints "READY <bootstrap servers>" once the brokers listen (on 127.0.0.1, ephemeral ports), then
 * answers each stdin command with one line, "OK" or "ERR <message>":
 *
 *   topic <name> <partitions> <replication>
 *   broker-down <id> | broker-up <id>
 *   rtt <id> <ms>
 *   errors <apiKey> <err> [err ...]      (error codes as numbers, pushed cluster-wide)
 *   leader <topic> <partition> <brokerId>
 *   coordinator <group|txn> <key> <brokerId>
 *   quit
 *
 * stdin EOF (or quit) exits 0, taking the brokers down: the Node parent holds the pipe, so when it dies
 * (even by SIGKILL) the kernel closes the pipe and the brokers go away with it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_ARGS 64

static int parse_int(const char *s, long min, long max, long *out) {
  char *end;
  if (s == NULL) return 0;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v < min || v > max) return 0;
  *out = v;
  return 1;
}

static void reply(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    printf("OK\n");
  else
    printf("ERR %s (%d)\n", rd_kafka_err2str(err), (int)err);
}

static void reply_usage(const char *usage) { printf("ERR usage: %s\n", usage); }

/* Runs one command line; returns 0 when the command was "quit". */
static int run(rd_kafka_mock_cluster_t *mc, char *line) {
  char *argv[MAX_ARGS];
  int argc = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, " \t\r\n", &save); tok && argc < MAX_ARGS;
       tok = strtok_r(NULL, " \t\r\n", &save))
    argv[argc++] = tok;
  if (argc == 0) {
    printf("ERR empty command\n");
    return 1;
  }
  const char *cmd = argv[0];
  long a, b, c;

  if (strcmp(cmd, "quit") == 0) {
    printf("OK\n");
    return 0;
  }
  if (strcmp(cmd, "topic") == 0) {
    if (argc != 4 || !parse_int(argv[2], 1, 100000, &a) || !parse_int(argv[3], 1, 1000, &b))
      reply_usage("topic <name> <partitions> <replication>");
    else
      reply(rd_kafka_mock_topic_create(mc, argv[1], (int)a, (int)b));
  } else if (strcmp(cmd, "broker-down") == 0 || strcmp(cmd, "broker-up") == 0) {
    if (argc != 2 || !parse_int(argv[1], 0, INT32_MAX, &a))
      reply_usage("broker-down|broker-up <id>");
    else if (strcmp(cmd, "broker-down") == 0)
      reply(rd_kafka_mock_broker_set_down(mc, (int32_t)a));
    else
      reply(rd_kafka_mock_broker_set_up(mc, (int32_t)a));
  } else if (strcmp(cmd, "rtt") == 0) {
    if (argc != 3 || !parse_int(argv[1], -1, INT32_MAX, &a) || !parse_int(argv[2], 0, INT_MAX, &b))
      reply_usage("rtt <id> <ms>");
    else
      reply(rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b));
  } else if (strcmp(cmd, "errors") == 0) {
    rd_kafka_resp_err_t errs[MAX_ARGS];
    int ok = argc >= 3 && parse_int(argv[1], 0, INT16_MAX, &a);
    for (int i = 2; ok && i < argc; i++) {
      ok = parse_int(argv[i], INT16_MIN, INT16_MAX, &b);
      errs[i - 2] = (rd_kafka_resp_err_t)b;
    }
    if (!ok) {
      reply_usage("errors <apiKey> <err> [err ...]");
    } else {
      /* Returns void: each pushed error answers the next request of that API key, on any broker. */
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)(argc - 2), errs);
      printf("OK\n");
    }
  } else if (strcmp(cmd, "leader") == 0) {
    if (argc != 4 || !parse_int(argv[2], 0, INT32_MAX, &a) || !parse_int(argv[3], -1, INT32_MAX, &b))
      reply_usage("leader <topic> <partition> <brokerId>");
    else
      reply(rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b));
  } else if (strcmp(cmd, "coordinator") == 0) {
    const char *type = argc == 4 && strcmp(argv[1], "group") == 0   ? "group"
                       : argc == 4 && strcmp(argv[1], "txn") == 0 ? "transaction"
                                                                  : NULL;
    if (type == NULL || !parse_int(argv[3], -1, INT32_MAX, &c))
      reply_usage("coordinator <group|txn> <key> <brokerId>");
    else
      reply(rd_kafka_mock_coordinator_set(mc, type, argv[2], (int32_t)c));
  } else {
    printf("ERR unknown command: %s\n", cmd);
  }
  return 1;
}

int main(int argc, char **argv) {
  long brokers = 3;
  if (argc > 2 || (argc == 2 && !parse_int(argv[1], 1, 64, &brokers))) {
    fprintf(stderr, "usage: %s [brokers 1..64]\n", argv[0]);
    return 2;
  }

  /* The mock cluster needs an rd_kafka_t for its bookkeeping only; this producer never connects
   * anywhere (no bootstrap.servers), it just owns the cluster's threads. */
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "conf: %s\n", errstr);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
  if (mc == NULL) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  printf("READY %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, stdin) != -1) {
    int more = run(mc, line);
    fflush(stdout);
    if (!more) break;
  }
  free(line);

  /* Exit without rd_kafka_mock_cluster_destroy(): it blocks 0-2 s on the mock thread's poll timeout,
   * which every test's cleanup would pay, while exiting closes the brokers' sockets just the same. */
  fflush(stdout);
  _exit(0);
}
