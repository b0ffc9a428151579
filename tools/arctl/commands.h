#pragma once
// The arctl command table. Each service's commands live in their own file and function;
// a new service (credit, collections, clock, gateway) adds one function and one line in
// AllCommands().

#include <vector>

#include "tools/arctl/cli.h"

namespace ar::arctl {

std::vector<CommandSpec>
InvoiceCommands();  // invoice issue|show|list|credit-note|cancel|dispute|resolve, balance
std::vector<CommandSpec>
PaymentCommands();  // payment record|show|list|reverse, statement, unapplied
// credit set-limit|fx-rate|show
std::vector<CommandSpec> CreditCommands();
// promise record, writeoff, overdue, aging, kpis
std::vector<CommandSpec> CollectionsCommands();
// customer, watch
std::vector<CommandSpec> GatewayCommands();
// clock advance|show
std::vector<CommandSpec> ClockCommands();
std::vector<CommandSpec> SystemCommands();  // health

std::vector<CommandSpec> AllCommands();

}  // namespace ar::arctl
