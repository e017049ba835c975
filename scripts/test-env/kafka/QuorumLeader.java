// Prints the node id of the KRaft quorum's leader (the active controller) of the cluster at args[0], a bootstrap
// list: kafkajs has no DescribeQuorum (KIP-595), Kafka's admin client has. Run as a single-file source program
// with the broker's jars on the class path (test/support/kafka-broker.ts, quorumLeader()).
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;

public class QuorumLeader {
  public static void main(String[] args) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", args[0], "request.timeout.ms", "10000"))) {
      System.out.println(admin.describeMetadataQuorum().quorumInfo().get().leaderId());
    }
  }
}
