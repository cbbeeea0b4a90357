// The broker's request rates by kind (Produce, Fetch, OffsetCommit, ...) over a window, read
// from its JMX counters (kafka.network:type=RequestMetrics,name=RequestsPerSec). For a bench run
// whose broker was started with JMX open on loopback, e.g.
//   LAPOR_KAFKA_JVM_OPTS="-Dcom.sun.management.jmxremote.port=9999 \
//     -Dcom.sun.management.jmxremote.rmi.port=9999 -Dcom.sun.management.jmxremote.authenticate=false \
//     -Dcom.sun.management.jmxremote.ssl=false -Djava.rmi.server.hostname=127.0.0.1" bench/run.sh ...
// and, during a step (a JDK runs a source file directly; Debian: default-jdk-headless):
//   java bench/KafkaRequests.java 9999 10
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class KafkaRequests {
  static Map<String, Long> counts(MBeanServerConnection s) throws Exception {
    Map<String, Long> out = new TreeMap<>();
    ObjectName pattern =
        new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
    for (ObjectName n : s.queryNames(pattern, null))
      out.merge(n.getKeyProperty("request"), (Long) s.getAttribute(n, "Count"), Long::sum);
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: java KafkaRequests.java JMX_PORT SECONDS");
      System.exit(2);
    }
    double seconds = Double.parseDouble(args[1]);
    JMXServiceURL url =
        new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + args[0] + "/jmxrmi");
    try (JMXConnector c = JMXConnectorFactory.connect(url)) {
      MBeanServerConnection s = c.getMBeanServerConnection();
      Map<String, Long> before = counts(s);
      Thread.sleep((long) (seconds * 1000));
      for (Map.Entry<String, Long> e : counts(s).entrySet()) {
        long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
        if (d > 0) System.out.printf("%-24s %9.1f/s%n", e.getKey(), d / seconds);
      }
    }
  }
}
