// AgencyService streams against a real notification process, Kafka and Redis: resume after a
// disconnect in the middle of a burst, isolation between agencies, tokens (missing, wrong,
// foreign, rotated without restart), TLS, flow control (a client that stops confirming, one that
// stops reading), delivery confirmed by the client.
#include "notification_support.h"

#include "topic_reader.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace lapor::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTokA = "token-disdamkar-1";
constexpr const char* kTokB = "token-rsud-1";

NotificationOptions twoAgencies() {
  NotificationOptions o;
  o.tokens = {{"disdamkar", kTokA}, {"rsud-kudungga", kTokB}};
  return o;
}

// Reads a Subscribe stream until `stop` says so or the stream ends; unless `confirm` is false,
// confirms each item as a client does once it stored it (which opens the stream's window).
struct StreamRead {
  std::vector<v1::AgencyFeedItem> items;
  grpc::Status status;
};
StreamRead readStream(v1::AgencyService::Stub& stub, const std::string& agency,
                      const std::string& token, const std::string& cursor,
                      const std::function<bool(const std::vector<v1::AgencyFeedItem>&)>& stop,
                      std::chrono::milliseconds timeout = 30s, bool confirm = true) {
  auto ctx = agencyContext(token, timeout);
  v1::SubscribeRequest req;
  req.set_agency_id(agency);
  req.set_resume_cursor(cursor);
  auto reader = stub.Subscribe(ctx.get(), req);
  StreamRead out;
  v1::AgencyFeedItem item;
  while (reader->Read(&item)) {
    out.items.push_back(item);
    if (confirm) {
      v1::ConfirmDeliveryResponse resp;
      auto s = stub.ConfirmDelivery(agencyContext(token).get(),
                                    confirmation(agency, item.cursor(), item.stream_id()), &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    if (stop(out.items)) {
      ctx->TryCancel();
      break;
    }
  }
  out.status = reader->Finish();
  return out;
}

std::vector<std::string> titlesOf(const std::vector<v1::AgencyFeedItem>& items,
                                  const std::string& complaint) {
  std::vector<std::string> out;
  for (const auto& i : items)
    if (i.item().assignment().complaint_id() == complaint) out.push_back(i.item().complaint().title());
  return out;
}

TEST(NotificationStream, ResumeAfterADisconnectMidBurstGivesEverythingInOrderOnce) {
  NotificationProcess n(twoAgencies());
  auto stub = n.stub();
  const auto complaint = uniqueName("burst");
  std::vector<std::string> sent;
  std::thread producer([&] {
    for (int i = 0; i < 60; ++i) {
      sent.push_back("item-" + std::to_string(i));
      produceDispatch(dispatchEnvelope("disdamkar", complaint, sent.back()));
    }
  });
  // Disconnect after 20 of ours, while the burst is still being produced.
  auto first = readStream(*stub, "disdamkar", kTokA, "", [&](const auto& items) {
    return titlesOf(items, complaint).size() == 20;
  });
  ASSERT_EQ(titlesOf(first.items, complaint).size(), 20u) << first.status.error_message();
  producer.join();
  auto second = readStream(*stub, "disdamkar", kTokA, first.items.back().cursor(),
                           [&](const auto& items) {
                             return titlesOf(items, complaint).size() == 40;
                           });
  auto got = titlesOf(first.items, complaint);
  for (const auto& t : titlesOf(second.items, complaint)) got.push_back(t);
  EXPECT_EQ(got, sent);
  std::set<std::string> ids;
  for (const auto* part : {&first.items, &second.items})
    for (const auto& i : *part) EXPECT_TRUE(ids.insert(i.event_id()).second) << i.event_id();
}

TEST(NotificationStream, EachAgencySeesOnlyItsOwnAndForeignOrMissingTokensAreRefused) {
  NotificationProcess n(twoAgencies());
  auto stub = n.stub();
  const auto complaint = uniqueName("iso");
  produceDispatch(dispatchEnvelope("disdamkar", complaint, "for-disdamkar"));
  produceDispatch(dispatchEnvelope("rsud-kudungga", complaint, "for-rsud"));
  auto a = readStream(*stub, "disdamkar", kTokA, "",
                      [&](const auto& items) { return !titlesOf(items, complaint).empty(); });
  auto b = readStream(*stub, "rsud-kudungga", kTokB, "",
                      [&](const auto& items) { return !titlesOf(items, complaint).empty(); });
  EXPECT_EQ(titlesOf(a.items, complaint), std::vector<std::string>{"for-disdamkar"});
  EXPECT_EQ(titlesOf(b.items, complaint), std::vector<std::string>{"for-rsud"});
  for (const auto& i : a.items) EXPECT_EQ(i.item().assignment().agency_id(), "disdamkar");
  for (const auto& i : b.items) EXPECT_EQ(i.item().assignment().agency_id(), "rsud-kudungga");

  auto never = [](const auto&) { return false; };
  EXPECT_EQ(readStream(*stub, "rsud-kudungga", kTokA, "", never, 5s).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(readStream(*stub, "disdamkar", "", "", never, 5s).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(readStream(*stub, "disdamkar", "not-a-token", "", never, 5s).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Agency A can neither list nor act on B's assignments.
  v1::ListAssignmentsRequest list;
  list.set_agency_id("rsud-kudungga");
  v1::ListAssignmentsResponse listed;
  EXPECT_EQ(stub->ListAssignments(agencyContext(kTokA).get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::AcknowledgeRequest ack;
  ack.set_agency_id("disdamkar");  // A's own id, B's assignment
  ack.set_assignment_id(b.items.back().item().assignment().assignment_id());
  v1::AcknowledgeResponse acked;
  EXPECT_EQ(stub->Acknowledge(agencyContext(kTokA).get(), ack, &acked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ack.set_agency_id("rsud-kudungga");
  EXPECT_EQ(stub->Acknowledge(agencyContext(kTokA).get(), ack, &acked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // ... and B's assignment is untouched: B can still acknowledge it for the first time.
  ASSERT_TRUE(stub->Acknowledge(agencyContext(kTokB).get(), ack, &acked).ok());
  EXPECT_EQ(acked.state(), v1::ASSIGNMENT_STATE_ACKNOWLEDGED);
}

TEST(NotificationStream, TokensRotateWithoutARestart) {
  NotificationProcess n(twoAgencies());
  auto stub = n.stub();
  v1::ListAssignmentsRequest list;
  list.set_agency_id("disdamkar");
  v1::ListAssignmentsResponse resp;
  auto code = [&](const std::string& token) {
    return stub->ListAssignments(agencyContext(token).get(), list, &resp).error_code();
  };
  ASSERT_EQ(code(kTokA), grpc::StatusCode::OK);
  ASSERT_EQ(code("token-disdamkar-2"), grpc::StatusCode::UNAUTHENTICATED);

  // SIGHUP: the new token works at once.
  auto rotated = twoAgencies();
  rotated.tokens["disdamkar"] = "token-disdamkar-2";
  n.rewriteConfig(rotated);
  n.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return code("token-disdamkar-2") == grpc::StatusCode::OK; }, 10s))
      << n.logTail();
  EXPECT_EQ(code(kTokA), grpc::StatusCode::UNAUTHENTICATED);

  // An edit of the file alone is picked up too.
  auto again = twoAgencies();
  again.tokens["disdamkar"] = "token-disdamkar-3";
  n.rewriteConfig(again);
  ASSERT_TRUE(waitFor([&] { return code("token-disdamkar-3") == grpc::StatusCode::OK; }, 10s))
      << n.logTail();
  EXPECT_EQ(code("token-disdamkar-2"), grpc::StatusCode::UNAUTHENTICATED);
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(NotificationStream, ServesTlsWithAConfiguredCertificate) {
  const auto dir = testing::runDir() + "/" + uniqueName("tls");
  const auto cmd = "mkdir -p " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 " +
                   "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost " +
                   "-keyout " + dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto o = twoAgencies();
  o.extra_yaml = "grpc:\n  tls_cert_file: " + dir + "/cert.pem\n  tls_key_file: " + dir +
                 "/key.pem\n";
  NotificationProcess n(o);
  v1::ListAssignmentsRequest list;
  list.set_agency_id("disdamkar");
  v1::ListAssignmentsResponse resp;
  auto s = n.stub(readAll(dir + "/cert.pem"))->ListAssignments(agencyContext(kTokA).get(), list, &resp);
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << "\n" << n.logTail();
  // A plaintext client gets nowhere.
  s = n.stub()->ListAssignments(agencyContext(kTokA, 3s).get(), list, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The cursor after which disdamkar's feed holds only what a test produces next. A fresh
// notification process takes the topic's history from every partition in parallel, so a marker
// goes to each partition and the feed is read past all of them.
std::string feedEnd(v1::AgencyService::Stub& stub) {
  // The topic the process created may not be in the broker's metadata yet (a fresh broker).
  int partitions_of_topic = -1;
  EXPECT_TRUE(waitFor(
      [&] {
        partitions_of_topic = partitionCount(testing::requiredEnv("LAPOR_KAFKA_BROKERS"),
                                             kafka::dispatchTopic("disdamkar"));
        return partitions_of_topic > 0;
      },
      30s));
  const auto count = static_cast<size_t>(std::max(partitions_of_topic, 0));
  std::set<int32_t> partitions;
  std::set<std::string> markers;
  for (int i = 0; i < 100 && partitions.size() < count; ++i) {
    const auto marker = uniqueName("marker");
    markers.insert(marker);
    partitions.insert(produceDispatch(dispatchEnvelope("disdamkar", marker, "marker")));
  }
  EXPECT_EQ(partitions.size(), count);
  auto start = readStream(stub, "disdamkar", kTokA, "", [&](const auto& items) {
    size_t seen = 0;
    for (const auto& i : items) seen += markers.count(i.item().assignment().complaint_id());
    return seen == markers.size();
  });
  EXPECT_FALSE(start.items.empty()) << start.status.error_message();
  return start.items.empty() ? "" : start.items.back().cursor();
}

std::vector<std::string> producedFor(const std::string& complaint, int n) {
  std::vector<std::string> sent;
  for (int i = 0; i < n; ++i) {
    sent.push_back("w-" + std::to_string(i));
    produceDispatch(dispatchEnvelope("disdamkar", complaint, sent.back()));
  }
  return sent;
}

// A TCP relay between one client and the server that can stop passing the server's bytes on,
// as a client that has stopped reading its socket does.
class StallableRelay {
 public:
  explicit StallableRelay(int server_port) : server_port_(server_port) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_, 1);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] { run(); });
  }
  ~StallableRelay() {
    stop_ = true;
    ::shutdown(listen_, SHUT_RDWR);
    ::close(listen_);
    for (int fd : {client_.load(), server_.load()})
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    accept_.join();
    for (auto& t : pumps_) t.join();
    for (int fd : {client_.load(), server_.load()})
      if (fd >= 0) ::close(fd);
  }
  int port() const { return port_; }
  void stall(bool on) { stalled_ = on; }

 private:
  void run() {
    int c = ::accept(listen_, nullptr, nullptr);
    if (c < 0) return;
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(server_port_));
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    client_ = c;
    server_ = s;
    pumps_.emplace_back([this, c, s] { pump(c, s, false); });
    pumps_.emplace_back([this, c, s] { pump(s, c, true); });
  }
  void pump(int from, int to, bool from_server) {
    char buf[16384];
    while (!stop_) {
      if (from_server && stalled_) {
        std::this_thread::sleep_for(10ms);  // not reading: the bytes stay with the server
        continue;
      }
      auto n = ::recv(from, buf, sizeof buf, 0);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        auto w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) return;
        off += w;
      }
    }
    ::shutdown(to, SHUT_WR);
  }

  int server_port_;
  int listen_ = -1;
  int port_ = 0;
  std::atomic<int> client_{-1}, server_{-1};
  std::atomic<bool> stalled_{false}, stop_{false};
  std::thread accept_;
  std::vector<std::thread> pumps_;
};

// The item is bigger than the byte window (one is always sent) and the client's socket is not
// read: the write itself blocks, and the stream is cancelled.
TEST(NotificationStream, AClientThatStopsReadingItsSocketDoesNotStallAnotherAndIsEnded) {
  auto o = twoAgencies();
  o.extra_yaml = "stream:\n  window: 4\n  stall_timeout: 1s\n";
  NotificationProcess n(o);
  auto stub = n.stub();
  const auto complaint = uniqueName("stall");
  const auto from = feedEnd(*stub);
  // A client whose socket is not read: the server's writes to it block.
  StallableRelay relay(std::stoi(n.target().substr(n.target().rfind(':') + 1)));
  // Fixed small flow-control windows, as a client on a slow link would announce.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65535);
  auto stalled_stub = v1::AgencyService::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(relay.port()), grpc::InsecureChannelCredentials(), args));
  auto stalled_ctx = agencyContext(kTokA, 120s);
  v1::SubscribeRequest req;
  req.set_agency_id("disdamkar");
  req.set_resume_cursor(from);
  auto stalled = stalled_stub->Subscribe(stalled_ctx.get(), req);
  ASSERT_TRUE(waitFor([&] {
    return metricValue(n.metricsPort(), "lapor_notification_active_streams{agency=\"disdamkar\"}") == 1;
  }, 10s));
  relay.stall(true);
  // Big items fill the socket buffers and flow-control windows quickly.
  const std::string big(500'000, 'x');
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i) {
    sent.push_back("big-" + std::to_string(i));
    auto env = dispatchEnvelope("disdamkar", complaint, sent.back());
    env.mutable_dispatched()->mutable_item()->mutable_complaint()->set_description(big);
    produceDispatch(env);
  }
  // Another client of the same agency gets all of it meanwhile.
  auto other = readStream(*stub, "disdamkar", kTokA, from, [&](const auto& items) {
    return titlesOf(items, complaint).size() == sent.size();
  }, 60s);
  EXPECT_EQ(titlesOf(other.items, complaint), sent);
  // The server ends the stalled stream and counts it.
  EXPECT_TRUE(waitFor([&] {
    return metricValue(n.metricsPort(), "lapor_notification_slow_streams_ended_total{agency="
                                         "\"disdamkar\",reason=\"write-blocked\"}") == 1;
  }, 30s)) << n.logTail();
  // Reading again, the client gets what was in flight, then the end of the stream...
  relay.stall(false);
  std::vector<v1::AgencyFeedItem> got;
  v1::AgencyFeedItem item;
  while (stalled->Read(&item)) got.push_back(item);
  EXPECT_FALSE(stalled->Finish().ok());
  EXPECT_LT(titlesOf(got, complaint).size(), sent.size());
  // ... and resuming from its last cursor gives the rest, with no gap.
  auto rest = readStream(*stub, "disdamkar", kTokA, got.empty() ? from : got.back().cursor(),
                         [&](const auto& items) {
                           return titlesOf(got, complaint).size() +
                                      titlesOf(items, complaint).size() ==
                                  sent.size();
                         },
                         60s);
  auto all = titlesOf(got, complaint);
  for (const auto& t : titlesOf(rest.items, complaint)) all.push_back(t);
  EXPECT_EQ(all, sent);
}

// A Subscribe stream of disdamkar after `from`, read item by item and never confirmed.
struct HandReadStream {
  HandReadStream(v1::AgencyService::Stub& stub, const std::string& from,
                 std::chrono::milliseconds timeout)
      : ctx(agencyContext(kTokA, timeout)) {
    v1::SubscribeRequest req;
    req.set_agency_id("disdamkar");
    req.set_resume_cursor(from);
    reader = stub.Subscribe(ctx.get(), req);
  }
  // Reads `n` more items into `got`; false when the stream ended before.
  bool take(int n) {
    v1::AgencyFeedItem item;
    for (int i = 0; i < n; ++i) {
      if (!reader->Read(&item)) return false;
      got.push_back(item);
    }
    return true;
  }
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::AgencyFeedItem>> reader;
  std::vector<v1::AgencyFeedItem> got;
};

TEST(NotificationStream, AClientThatStopsConfirmingIsToldToResumeAfterItsLastConfirmation) {
  auto o = twoAgencies();
  o.extra_yaml = "stream:\n  window: 5\n  stall_timeout: 2s\n";
  NotificationProcess n(o);
  auto stub = n.stub();
  const auto complaint = uniqueName("window");
  const auto from = feedEnd(*stub);
  HandReadStream slow(*stub, from, 60s);
  const auto sent = producedFor(complaint, 20);
  // The server sends a window of five; confirming the first two lets two more come.
  ASSERT_TRUE(slow.take(5)) << slow.reader->Finish().error_message();
  const auto& got = slow.got;
  v1::ConfirmDeliveryResponse cr;
  ASSERT_TRUE(stub->ConfirmDelivery(agencyContext(kTokA).get(),
                                    confirmation("disdamkar", got[1].cursor(), got[1].stream_id()),
                                    &cr)
                  .ok());
  // Another client of the same agency gets everything meanwhile.
  auto other = readStream(*stub, "disdamkar", kTokA, from, [&](const auto& items) {
    return titlesOf(items, complaint).size() == sent.size();
  });
  EXPECT_EQ(titlesOf(other.items, complaint), sent);
  // The slow stream: the two, then the end, naming the cursor of its last confirmation.
  while (slow.take(1)) {
  }
  const auto status = slow.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(titlesOf(got, complaint), std::vector<std::string>(sent.begin(), sent.begin() + 7));
  const auto& trailers = slow.ctx->GetServerTrailingMetadata();
  auto told = trailers.find("lapor-resume-cursor");
  ASSERT_NE(told, trailers.end());
  const std::string resume(told->second.data(), told->second.size());
  EXPECT_EQ(resume, got[1].cursor());
  EXPECT_NE(status.error_message().find(got[1].cursor()), std::string::npos)
      << status.error_message();
  EXPECT_EQ(metricValue(n.metricsPort(), "lapor_notification_slow_streams_ended_total{agency="
                                         "\"disdamkar\",reason=\"window-full\"}"),
            1);
  // Resuming after that cursor gives the rest, in order.
  auto rest = readStream(*stub, "disdamkar", kTokA, resume, [&](const auto& items) {
    return titlesOf(items, complaint).size() == sent.size() - 2;
  });
  EXPECT_EQ(titlesOf(rest.items, complaint), std::vector<std::string>(sent.begin() + 2, sent.end()));
}

TEST(NotificationStream, AConfirmationWithoutAStreamIdOpensTheWindowOfTheAgencysStreams) {
  auto o = twoAgencies();
  o.extra_yaml = "stream:\n  window: 3\n";
  NotificationProcess n(o);
  auto stub = n.stub();
  const auto complaint = uniqueName("agencywide");
  const auto from = feedEnd(*stub);
  HandReadStream stream(*stub, from, 30s);
  const auto sent = producedFor(complaint, 6);
  ASSERT_TRUE(stream.take(3));
  const auto& got = stream.got;
  v1::ConfirmDeliveryResponse cr;
  EXPECT_EQ(stub->ConfirmDelivery(agencyContext(kTokA).get(),
                                  confirmation("disdamkar", got[2].cursor(), "not-a-stream"), &cr)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(stub->ConfirmDelivery(agencyContext(kTokA).get(),
                                    confirmation("disdamkar", got[2].cursor(), ""), &cr)
                  .ok());
  ASSERT_TRUE(stream.take(3));
  EXPECT_EQ(titlesOf(got, complaint), sent);
  stream.ctx->TryCancel();
  stream.reader->Finish();
}

TEST(NotificationStream, DeliveredOnlyOnceTheClientConfirmsAndOncePerAssignment) {
  // This client reads the agency's whole feed without confirming: a window that allows it.
  auto o = twoAgencies();
  o.extra_yaml = "stream:\n  window: 10000\n  window_bytes: 67108864\n";
  NotificationProcess n(o);
  auto stub = n.stub();
  TopicReader lifecycle(testing::requiredEnv("LAPOR_KAFKA_BROKERS"), kafka::kComplaintsTopic,
                        TopicReader::From::End);
  const auto complaint = uniqueName("deliv");
  for (int i = 0; i < 3; ++i)
    produceDispatch(dispatchEnvelope("disdamkar", complaint, "d-" + std::to_string(i)));
  produceDispatch(dispatchEnvelope("rsud-kudungga", complaint, "r-0"));
  auto a = readStream(
      *stub, "disdamkar", kTokA, "",
      [&](const auto& items) { return titlesOf(items, complaint).size() == 3; }, 30s, false);
  ASSERT_EQ(titlesOf(a.items, complaint).size(), 3u);
  auto delivered = [&] {
    std::vector<v1::EventEnvelope> out;
    for (const auto& e : lifecycleOf(lifecycle, complaint))
      if (e.has_delivered()) out.push_back(e);
    return out;
  };
  // Written to the stream is not delivered: nothing until the client confirms.
  lifecycle.readUntil([](const kafka::Message&) { return false; }, 1500ms);
  EXPECT_TRUE(delivered().empty());

  // Confirm the first two by cursor; coming back with the third's cursor confirms it too.
  std::vector<v1::AgencyFeedItem> mine;
  for (const auto& i : a.items)
    if (i.item().assignment().complaint_id() == complaint) mine.push_back(i);
  v1::ConfirmDeliveryRequest c;
  c.set_agency_id("disdamkar");
  v1::ConfirmDeliveryResponse cr;
  // The feed holds older items of the shared topic: confirm those first.
  for (size_t i = 1; i < a.items.size(); ++i)
    if (a.items[i].cursor() == mine[0].cursor()) {
      c.set_cursor(a.items[i - 1].cursor());
      ASSERT_TRUE(stub->ConfirmDelivery(agencyContext(kTokA).get(), c, &cr).ok());
    }
  c.set_cursor(mine[1].cursor());
  ASSERT_TRUE(stub->ConfirmDelivery(agencyContext(kTokA).get(), c, &cr).ok());
  EXPECT_EQ(cr.confirmed(), 2);
  readStream(*stub, "disdamkar", kTokA, mine[2].cursor(), [](const auto&) { return true; }, 2s,
             false);
  ASSERT_TRUE(stub->ConfirmDelivery(agencyContext(kTokA).get(), c, &cr).ok());
  EXPECT_EQ(cr.confirmed(), 0);  // nothing new
  lifecycle.readUntil([&](const kafka::Message&) { return delivered().size() >= 3; }, 15s);
  lifecycle.readUntil([](const kafka::Message&) { return false; }, 1000ms);
  auto d = delivered();
  ASSERT_EQ(d.size(), 3u);
  std::set<std::string> assignments;
  for (const auto& e : d) {
    EXPECT_EQ(e.delivered().agency_id(), "disdamkar");  // rsud never confirmed: not delivered
    EXPECT_EQ(e.delivered().channel(), "grpc-stream");
    EXPECT_GT(e.delivered().delivered_at_ms(), 0);
    assignments.insert(e.delivered().assignment_id());
  }
  EXPECT_EQ(assignments.size(), 3u);
}

}  // namespace
}  // namespace lapor::integration
