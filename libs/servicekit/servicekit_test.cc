#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/servicekit/flags.h"
#include "libs/servicekit/grpc_server.h"

ABSL_FLAG(std::string, servicekit_test_region, "eu", "a flag for the environment test");
ABSL_FLAG(int, servicekit_test_partitions, 1, "a flag for the environment test");

namespace ar::servicekit {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus CheckHealth(const std::string& address) {
  auto stub = Health::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, HealthCheckRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

TEST(GrpcServerTest, ServesHealthAndReportsNotServingOnRequest) {
  GrpcServer server("127.0.0.1:0");
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(CheckHealth(server.address()), HealthCheckResponse::SERVING);
  server.SetServing(false);
  EXPECT_EQ(CheckHealth(server.address()), HealthCheckResponse::NOT_SERVING);
  server.Shutdown(absl::Seconds(1));
}

TEST(GrpcServerTest, TakenPortIsAClearError) {
  GrpcServer first("127.0.0.1:0");
  ASSERT_TRUE(first.Start().ok());
  GrpcServer second("127.0.0.1:" + std::to_string(first.port()));
  absl::Status status = second.Start();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
}

TEST(FlagsTest, EnvironmentSetsFlagsAndCommandLineWins) {
  EXPECT_EQ(EnvironmentVariableForFlag("servicekit_test_region"), "AR_SERVICEKIT_TEST_REGION");
  setenv("AR_SERVICEKIT_TEST_REGION", "apac", 1);
  setenv("AR_SERVICEKIT_TEST_PARTITIONS", "12", 1);
  char program[] = "test";
  char partitions[] = "--servicekit_test_partitions=24";
  char* argv[] = {program, partitions};
  ParseFlagsAndEnvironment(2, argv);
  EXPECT_EQ(absl::GetFlag(FLAGS_servicekit_test_region), "apac");
  EXPECT_EQ(absl::GetFlag(FLAGS_servicekit_test_partitions), 24);
}

}  // namespace
}  // namespace ar::servicekit
