// See client_security.h.
#include "kafka/client_security.h"

#include "kafka/rdkafka_conf.h"

#include <librdkafka/rdkafka.h>

namespace lapor::kafka {

bool ClientSecurity::usesSasl() const {
  return protocol == "sasl_plaintext" || protocol == "sasl_ssl";
}

bool ClientSecurity::usesTls() const {
  return protocol == "ssl" || protocol == "sasl_ssl";
}

std::string ClientSecurity::warning() const {
  if (!usesSasl() || sasl_mechanism.rfind("SCRAM", 0) != 0 || rd_kafka_version() >= 0x020601ff)
    return "";
  return std::string("librdkafka ") + rd_kafka_version_str() +
         " cannot log in with SCRAM to Kafka 4 brokers (fixed in librdkafka 2.6.1); use "
         "kafka.security_protocol=ssl with a client certificate against such brokers";
}

std::string ClientSecurity::validate() const {
  if (protocol != "plaintext" && protocol != "ssl" && protocol != "sasl_plaintext" &&
      protocol != "sasl_ssl")
    return "kafka.security_protocol: '" + protocol +
           "' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl";
  if (usesSasl()) {
    if (sasl_mechanism != "SCRAM-SHA-512" && sasl_mechanism != "SCRAM-SHA-256" &&
        sasl_mechanism != "PLAIN")
      return "kafka.sasl_mechanism: '" + sasl_mechanism +
             "' is not one of SCRAM-SHA-512, SCRAM-SHA-256, PLAIN";
    if (sasl_username.empty())
      return "kafka.sasl_username: required with kafka.security_protocol=" + protocol;
    if (sasl_password.empty())
      return "kafka.sasl_password: required with kafka.security_protocol=" + protocol +
             " (set LAPOR_KAFKA_SASL_PASSWORD or kafka.sasl_password_file)";
  }
  if (!usesTls() && (!ssl_ca_file.empty() || !ssl_cert_file.empty() || !ssl_key_file.empty()))
    return "kafka.security_protocol: " + protocol +
           " does not use TLS, but kafka.ssl_* files are set (use ssl or sasl_ssl)";
  if (ssl_cert_file.empty() != ssl_key_file.empty())
    return std::string(ssl_cert_file.empty() ? "kafka.ssl_cert_file" : "kafka.ssl_key_file") +
           ": kafka.ssl_cert_file and kafka.ssl_key_file go together (mutual TLS)";
  return "";
}

std::map<std::string, std::string> ClientSecurity::properties() const {
  std::map<std::string, std::string> p;
  if (protocol == "plaintext") return p;
  p["security.protocol"] = protocol;
  if (usesSasl()) {
    p["sasl.mechanisms"] = sasl_mechanism;
    p["sasl.username"] = sasl_username;
    p["sasl.password"] = sasl_password;
  }
  if (usesTls()) {
    if (!ssl_ca_file.empty()) p["ssl.ca.location"] = ssl_ca_file;
    if (!ssl_cert_file.empty()) p["ssl.certificate.location"] = ssl_cert_file;
    if (!ssl_key_file.empty()) p["ssl.key.location"] = ssl_key_file;
  }
  return p;
}

namespace detail {
rd_kafka_conf_t* clientConf(const std::string& brokers, const ClientSecurity& security) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  setOrThrow(conf, "bootstrap.servers", brokers);
  for (const auto& [k, v] : security.properties()) {
    // setOrThrow names the property and its value; a password must not reach a log line.
    char err[512];
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::invalid_argument("kafka property " + k + ": " + err);
    }
  }
  return conf;
}
}  // namespace detail

}  // namespace lapor::kafka
