/*
 * tributary-load: a librdkafka load generator in C, so the benchmarks can tell the broker's limits
 * from the client's (python3-confluent-kafka handles every record in Python and tops out far
 * below the broker). Built and run by packages/bench/src/native-load.ts.
 *
 *   tributary-load consume --bootstrap H:P --topic T [--group G] [--records N] [--idle-ms MS]
 *                          [--timeout-ms MS] [--isolation read_committed|read_uncommitted]
 *                          [--stamped 1]
 *   tributary-load produce --bootstrap H:P --topic T --records N [--size BYTES] [--linger-ms MS]
 *                          [--partition P] [--rate PER_SECOND] [--producers N] [--stamped 1]
 *                          [--idempotence 1] [--value-prefix HEX] [--warmup-records W]
 *
 * consume: with --group, subscribes as that group from the earliest offset; without it, assigns
 * every partition of the topic from the beginning. Reads until N records, until no record came
 * for --idle-ms, or until --timeout-ms, counting records and value bytes and nothing else.
 *
 * produce: N records of --size bytes, acks=all. Flat out by default: ack latency runs from the
 * moment librdkafka accepted the record to its delivery report. With --rate, record i is due at
 * start + i/rate and its latency runs from that due time, so a stall delays every record behind
 * it and shows in the percentiles (no coordinated omission). --producers N spreads the records
 * round robin over N producer instances, each with its own connection (many small producers);
 * --rate is then the total rate, and delivery reports are served every half millisecond.
 *
 * --warmup-records W: W more records are sent first, at the same rate, and left out of the
 * figures (acked, elapsed, percentiles; a failed one still counts as an error). When the last of
 * them is due the tool writes "measuring" on stderr, so the caller can start its own samples.
 *
 * --value-prefix HEX: each value starts with these bytes (e.g. a schema registry frame), the
 * rest is filler; not with --stamped.
 *
 * --idempotence 1: enable.idempotence=true (producer ids and sequences in every batch, as the
 * Java client sends by default); off by default.
 *
 * --stamped 1 (end-to-end latency): the producer writes into each value's first 8 bytes the time
 * its latency counts from (the due time with --rate), as a big-endian CLOCK_MONOTONIC ns count,
 * and the consumer reports the percentiles of receive time minus that stamp (same machine, same
 * clock).
 *
 * Prints one JSON object on stdout ("type":"summary", as the Python drivers name theirs). Times
 * are CLOCK_MONOTONIC nanoseconds, printed as strings so they survive JSON parsing exactly. A
 * produce summary also gives the tool's own CPU time (user + system, getrusage, whole run) as
 * cpu_s: on a machine whose cores the broker shares, the load generator's part of them.
 * Exit status 2 is a usage or setup error (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define ERROR_TEXT_MAX 256

struct options {
  const char *mode;
  const char *bootstrap;
  const char *topic;
  const char *group;
  const char *isolation;
  int64_t records;
  int64_t warmup_records;
  int64_t size;
  int64_t idle_ms;
  int64_t timeout_ms;
  int64_t linger_ms;
  int32_t partition;
  int64_t producers;
  int stamped;
  int idempotence;
  const char *value_prefix;
  double rate;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("tributary-load: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

static int64_t parse_int(const char *name, const char *text) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < 0) {
    die("%s wants a non-negative integer: %s", name, text);
  }
  return value;
}

static void parse_options(int argc, char **argv, struct options *o) {
  if (argc < 2) die("usage: tributary-load consume|produce --bootstrap H:P --topic T ...");
  *o = (struct options){.mode = argv[1], .records = INT64_MAX, .size = 1024, .idle_ms = 10000,
                        .timeout_ms = 600000, .linger_ms = 5, .partition = RD_KAFKA_PARTITION_UA,
                        .producers = 1};
  for (int i = 2; i < argc; i += 2) {
    const char *name = argv[i];
    if (i + 1 >= argc) die("%s needs a value", name);
    const char *value = argv[i + 1];
    if (strcmp(name, "--bootstrap") == 0) o->bootstrap = value;
    else if (strcmp(name, "--topic") == 0) o->topic = value;
    else if (strcmp(name, "--group") == 0) o->group = value;
    else if (strcmp(name, "--isolation") == 0) o->isolation = value;
    else if (strcmp(name, "--records") == 0) o->records = parse_int(name, value);
    else if (strcmp(name, "--warmup-records") == 0) o->warmup_records = parse_int(name, value);
    else if (strcmp(name, "--size") == 0) o->size = parse_int(name, value);
    else if (strcmp(name, "--idle-ms") == 0) o->idle_ms = parse_int(name, value);
    else if (strcmp(name, "--timeout-ms") == 0) o->timeout_ms = parse_int(name, value);
    else if (strcmp(name, "--linger-ms") == 0) o->linger_ms = parse_int(name, value);
    else if (strcmp(name, "--partition") == 0) o->partition = (int32_t)parse_int(name, value);
    else if (strcmp(name, "--rate") == 0) o->rate = strtod(value, NULL);
    else if (strcmp(name, "--producers") == 0) o->producers = parse_int(name, value);
    else if (strcmp(name, "--stamped") == 0) o->stamped = parse_int(name, value) != 0;
    else if (strcmp(name, "--idempotence") == 0) o->idempotence = parse_int(name, value) != 0;
    else if (strcmp(name, "--value-prefix") == 0) o->value_prefix = value;
    else die("unknown option %s", name);
  }
  if (o->bootstrap == NULL || o->topic == NULL) die("--bootstrap and --topic are required");
  if (o->producers < 1) die("--producers must be at least 1");
  if (o->stamped && o->size < 8) die("--stamped needs --size of at least 8");
  if (o->stamped && o->records == INT64_MAX) die("--stamped needs --records");
  /* A stamped consumer would count the warm-up's records too. */
  if (o->stamped && o->warmup_records > 0) die("--warmup-records and --stamped exclude each other");
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char error[ERROR_TEXT_MAX];
  if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK) {
    die("%s=%s: %s", name, value, error);
  }
}

static void set_int(rd_kafka_conf_t *conf, const char *name, int64_t value) {
  char text[32];
  snprintf(text, sizeof text, "%" PRId64, value);
  set(conf, name, text);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char error[ERROR_TEXT_MAX];
  rd_kafka_t *rk = rd_kafka_new(type, conf, error, sizeof error);
  if (rk == NULL) die("rd_kafka_new: %s", error);
  return rk;
}

/* Writes text as a JSON string (quotes included). */
static void print_json_string(const char *text) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

static void print_first_error(const char *first_error) {
  printf(",\"first_error\":");
  if (first_error[0] == '\0') printf("null");
  else print_json_string(first_error);
}

static int compare_int64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double percentile_ms(const int64_t *sorted, int64_t count, double fraction) {
  if (count == 0) return 0;
  int64_t index = (int64_t)(fraction * (double)(count - 1) + 0.5);
  return (double)sorted[index] / 1e6;
}

/* Sorts `samples` and prints them as ,"NAME":{"samples":..,"p50":..,"p99":..,"p999":..,"max":..}. */
static void print_percentiles(const char *name, int64_t *samples, int64_t count) {
  qsort(samples, (size_t)count, sizeof(int64_t), compare_int64);
  printf(",\"%s\":{\"samples\":%" PRId64, name, count);
  printf(",\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
         percentile_ms(samples, count, 0.5), percentile_ms(samples, count, 0.99),
         percentile_ms(samples, count, 0.999), percentile_ms(samples, count, 1.0));
}

/* ---------------------------------------------------------------- consume */

struct consume_result {
  const char *assignment;
  const char *stopped;
  int64_t records, bytes, errors;
  int64_t start_ns, first_ns, last_ns, end_ns;
  char first_error[ERROR_TEXT_MAX];
  /* With --stamped: receive time minus the producer's stamp, per record read. */
  int64_t *e2e_ns;
};

static rd_kafka_conf_t *consumer_conf(const struct options *o) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o->bootstrap);
  set(conf, "client.id", "tributary-load");
  /* librdkafka 2.0 refuses assign() without a group.id; the assign-mode id never joins a group. */
  set(conf, "group.id", o->group != NULL ? o->group : "tributary-load-assign");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  if (o->isolation != NULL) set(conf, "isolation.level", o->isolation);
  /*
   * Throughput settings. librdkafka's per-partition fetch cap (max.partition.fetch.bytes, 1 MiB)
   * is what limits a one-partition replay: every Fetch would carry 1 MiB and then wait a round
   * trip. 16 MiB per partition and 64 MiB per request keep the broker's responses large (the
   * broker caps a response at its own fetch.max.bytes, 55 MiB). The pre-fetch queue
   * (queued.max.messages.kbytes, 64 MiB here) lets the fetcher thread keep a full response in
   * flight while the application thread drains the previous one; its byte bound is kept at
   * least the fetch size so one response never stalls the fetcher.
   */
  set(conf, "max.partition.fetch.bytes", "16777216");
  set(conf, "fetch.max.bytes", "67108864");
  set(conf, "receive.message.max.bytes", "134217728");
  set(conf, "queued.max.messages.kbytes", "65536");
  set(conf, "queued.min.messages", "1000000");
  return conf;
}

/* Assigns every partition of the topic from its first offset. */
static const char *assign_all(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_t *handle = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *metadata = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, 30000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) die("metadata for %s: %s", topic, rd_kafka_err2str(err));
  if (metadata->topic_cnt != 1 || metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    die("topic %s: %s", topic, rd_kafka_err2str(metadata->topics[0].err));
  }
  int count = metadata->topics[0].partition_cnt;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(count);
  for (int i = 0; i < count; i++) {
    rd_kafka_topic_partition_list_add(list, topic, metadata->topics[0].partitions[i].id)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(handle);
  err = rd_kafka_assign(rk, list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) die("assign: %s", rd_kafka_err2str(err));
  rd_kafka_topic_partition_list_destroy(list);
  return "assign";
}

static const char *subscribe(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) die("subscribe: %s", rd_kafka_err2str(err));
  rd_kafka_topic_partition_list_destroy(list);
  return "group";
}

static void count_record(struct consume_result *r, const rd_kafka_message_t *message,
                         int64_t received_ns) {
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    r->errors++;
    if (r->first_error[0] == '\0') {
      snprintf(r->first_error, sizeof r->first_error, "%s", rd_kafka_message_errstr(message));
    }
    return;
  }
  if (r->records == 0) r->first_ns = received_ns;
  r->last_ns = received_ns;
  if (r->e2e_ns != NULL && message->len >= 8) {
    const unsigned char *value = message->payload;
    int64_t stamp = 0;
    for (int i = 0; i < 8; i++) stamp = (stamp << 8) | value[i];
    r->e2e_ns[r->records] = received_ns - stamp;
  }
  r->records++;
  r->bytes += (int64_t)message->len;
}

static void read_until_done(rd_kafka_t *rk, const struct options *o, struct consume_result *r) {
  int64_t deadline_ns = r->start_ns + o->timeout_ms * 1000000;
  int64_t idle_ns = o->idle_ms * 1000000;
  r->stopped = "records";
  while (r->records < o->records) {
    rd_kafka_message_t *message = rd_kafka_consumer_poll(rk, 100);
    int64_t now = now_ns();
    if (message != NULL) {
      count_record(r, message, now);
      rd_kafka_message_destroy(message);
    }
    int64_t last_activity = r->records == 0 ? r->start_ns : r->last_ns;
    if (now - last_activity >= idle_ns) {
      r->stopped = "idle";
      break;
    }
    if (now >= deadline_ns) {
      r->stopped = "timeout";
      break;
    }
  }
  r->end_ns = now_ns();
}

static void print_consume(const struct consume_result *r) {
  printf("{\"type\":\"summary\",\"mode\":\"consume\"");
  printf(",\"assignment\":\"%s\",\"stopped\":\"%s\"", r->assignment, r->stopped);
  printf(",\"records\":%" PRId64 ",\"bytes\":%" PRId64 ",\"errors\":%" PRId64, r->records, r->bytes,
         r->errors);
  print_first_error(r->first_error);
  printf(",\"start_ns\":\"%" PRId64 "\",\"first_ns\":\"%" PRId64 "\",\"last_ns\":\"%" PRId64 "\"",
         r->start_ns, r->first_ns, r->last_ns);
  printf(",\"elapsed_s\":%.6f", (double)(r->end_ns - r->start_ns) / 1e9);
  if (r->e2e_ns != NULL) print_percentiles("e2e_ms", r->e2e_ns, r->records);
  printf("}\n");
}

static int run_consume(const struct options *o) {
  rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, consumer_conf(o));
  rd_kafka_poll_set_consumer(rk);
  struct consume_result r = {0};
  if (o->stamped) {
    r.e2e_ns = malloc((size_t)o->records * sizeof(int64_t));
    if (r.e2e_ns == NULL) die("out of memory");
  }
  r.start_ns = now_ns();
  r.assignment = o->group != NULL ? subscribe(rk, o->topic) : assign_all(rk, o->topic);
  read_until_done(rk, o, &r);
  print_consume(&r);
  fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

/* ---------------------------------------------------------------- produce */

struct produce_state {
  /* Acked records after the warm-up; errors count in it too. */
  int64_t acked, errors;
  /* Records 0..warmup-1 are the warm-up: sent, not measured. */
  int64_t warmup;
  /* Per record: the time its latency is measured from (enqueue, or due time with --rate). */
  int64_t *from_ns;
  /* Latency of each acked record, in delivery order. */
  int64_t *latency_ns;
  char first_error[ERROR_TEXT_MAX];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
  (void)rk;
  struct produce_state *s = opaque;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s->errors++;
    if (s->first_error[0] == '\0') {
      snprintf(s->first_error, sizeof s->first_error, "%s", rd_kafka_err2str(message->err));
    }
    return;
  }
  int64_t index = (int64_t)(intptr_t)message->_private;
  if (index < s->warmup) return;
  s->latency_ns[s->acked++] = now_ns() - s->from_ns[index];
}

static rd_kafka_conf_t *producer_conf(const struct options *o, struct produce_state *s) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", o->bootstrap);
  set(conf, "client.id", "tributary-load");
  set(conf, "acks", "all");
  set(conf, "enable.idempotence", o->idempotence ? "true" : "false");
  set(conf, "compression.type", "none");
  set_int(conf, "linger.ms", o->linger_ms);
  set(conf, "message.timeout.ms", "60000");
  set(conf, "queue.buffering.max.kbytes", "65536");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, s);
  return conf;
}

static void poll_all(rd_kafka_t **producers, int64_t count, int timeout_ms) {
  for (int64_t j = 0; j < count; j++) rd_kafka_poll(producers[j], timeout_ms);
}

/*
 * Blocks until `due_ns`, serving delivery reports meanwhile. One producer: polls it, blocking up
 * to the millisecond, then sleeps. Several: polls each without blocking every half millisecond.
 */
static void wait_until(rd_kafka_t **producers, int64_t count, int64_t due_ns) {
  for (int64_t now = now_ns(); now < due_ns; now = now_ns()) {
    int64_t remaining_ns = due_ns - now;
    if (count == 1 && remaining_ns >= 1000000) {
      int64_t remaining_ms = remaining_ns / 1000000;
      rd_kafka_poll(producers[0], (int)(remaining_ms > 100 ? 100 : remaining_ms));
      continue;
    }
    if (count > 1) poll_all(producers, count, 0);
    int64_t until_ns = count > 1 && remaining_ns > 500000 ? now + 500000 : due_ns;
    struct timespec until = {.tv_sec = until_ns / 1000000000, .tv_nsec = until_ns % 1000000000};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
  }
}

/* Copies --value-prefix (hex) into the start of the value. */
static void write_prefix(char *payload, const struct options *o) {
  size_t length = strlen(o->value_prefix);
  if (length % 2 != 0 || length / 2 > (size_t)o->size) die("--value-prefix: bad hex or too long");
  if (o->stamped) die("--value-prefix and --stamped exclude each other");
  for (size_t i = 0; i < length / 2; i++) {
    unsigned int byte;
    if (sscanf(o->value_prefix + 2 * i, "%2x", &byte) != 1) die("--value-prefix: bad hex");
    payload[i] = (char)byte;
  }
}

static void produce_one(rd_kafka_t *rk, const struct options *o, struct produce_state *s,
                        char *payload, int64_t index) {
  for (;;) {
    if (o->rate <= 0) s->from_ns[index] = now_ns();
    /* Stamped values differ per record, so librdkafka copies them; plain ones share one buffer. */
    if (o->stamped) {
      uint64_t stamp = (uint64_t)s->from_ns[index];
      for (int i = 7; i >= 0; i--, stamp >>= 8) payload[i] = (char)(stamp & 0xff);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(o->partition),
        RD_KAFKA_V_VALUE(payload, (size_t)o->size),
        RD_KAFKA_V_MSGFLAGS(o->stamped ? RD_KAFKA_MSG_F_COPY : 0),
        RD_KAFKA_V_OPAQUE((void *)(intptr_t)index), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce: %s", rd_kafka_err2str(err));
    rd_kafka_poll(rk, 1);
  }
}

static void print_produce(const struct options *o, struct produce_state *s, int64_t start_ns,
                          int64_t end_ns) {
  printf("{\"type\":\"summary\",\"mode\":\"produce\"");
  printf(",\"records\":%" PRId64 ",\"size\":%" PRId64 ",\"rate\":%.3f", o->records, o->size,
         o->rate);
  printf(",\"acked\":%" PRId64 ",\"errors\":%" PRId64 ",\"warmup_records\":%" PRId64, s->acked,
         s->errors, s->warmup);
  print_first_error(s->first_error);
  printf(",\"start_ns\":\"%" PRId64 "\",\"elapsed_s\":%.6f", start_ns,
         (double)(end_ns - start_ns) / 1e9);
  print_percentiles("ack_ms", s->latency_ns, s->acked);
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    double cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    printf(",\"cpu_s\":%.3f", cpu);
  }
  printf("}\n");
}

static void warm_up(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_t *handle = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *metadata = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, handle, &metadata, 30000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) die("metadata for %s: %s", topic, rd_kafka_err2str(err));
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(handle);
}

/* Every producer's delivery reports, until all are in or `timeout_ms` passed. */
static rd_kafka_resp_err_t flush_all(rd_kafka_t **producers, int64_t count, int timeout_ms) {
  rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t deadline_ns = now_ns() + (int64_t)timeout_ms * 1000000;
  for (int64_t j = 0; j < count; j++) {
    int64_t left_ms = (deadline_ns - now_ns()) / 1000000;
    rd_kafka_resp_err_t err = rd_kafka_flush(producers[j], left_ms > 0 ? (int)left_ms : 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) result = err;
  }
  return result;
}

static int run_produce(const struct options *o) {
  if (o->records == INT64_MAX) die("produce needs --records");
  struct produce_state s = {.warmup = o->warmup_records};
  int64_t total = o->records + o->warmup_records;
  s.from_ns = malloc((size_t)total * sizeof(int64_t));
  s.latency_ns = malloc((size_t)o->records * sizeof(int64_t));
  char *payload = malloc((size_t)o->size + 1);
  rd_kafka_t **producers = malloc((size_t)o->producers * sizeof(rd_kafka_t *));
  if (s.from_ns == NULL || s.latency_ns == NULL || payload == NULL || producers == NULL) {
    die("out of memory");
  }
  memset(payload, 'v', (size_t)o->size);
  if (o->value_prefix != NULL) write_prefix(payload, o);
  /* Metadata and the connections are set up before the clock starts. */
  for (int64_t j = 0; j < o->producers; j++) {
    producers[j] = new_client(RD_KAFKA_PRODUCER, producer_conf(o, &s));
    warm_up(producers[j], o->topic);
  }
  int64_t start_ns = now_ns();
  int64_t measured_ns = start_ns;
  double interval_ns = o->rate > 0 ? 1e9 / o->rate : 0;
  for (int64_t i = 0; i < total; i++) {
    rd_kafka_t *rk = producers[i % o->producers];
    if (o->rate > 0) {
      s.from_ns[i] = start_ns + (int64_t)((double)i * interval_ns);
      wait_until(producers, o->producers, s.from_ns[i]);
    }
    if (i == s.warmup && s.warmup > 0) {
      measured_ns = o->rate > 0 ? s.from_ns[i] : now_ns();
      fprintf(stderr, "measuring\n");
      fflush(stderr);
    }
    produce_one(rk, o, &s, payload, i);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_resp_err_t err = flush_all(producers, o->producers, 120000);
  int64_t end_ns = now_ns();
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && s.first_error[0] == '\0') {
    snprintf(s.first_error, sizeof s.first_error, "flush: %s", rd_kafka_err2str(err));
  }
  print_produce(o, &s, measured_ns, end_ns);
  fflush(stdout);
  for (int64_t j = 0; j < o->producers; j++) rd_kafka_destroy(producers[j]);
  return 0;
}

int main(int argc, char **argv) {
  struct options o;
  parse_options(argc, argv, &o);
  if (strcmp(o.mode, "consume") == 0) return run_consume(&o);
  if (strcmp(o.mode, "produce") == 0) return run_produce(&o);
  die("unknown mode %s (consume or produce)", o.mode);
}
