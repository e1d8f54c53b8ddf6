/* A transshipment network: the American Steel model (american-steel.mod) without its data.
   A data file names the nodes, the supplies and demands, and the arcs with their cost per
   ton and minimum and maximum flow. Minimum-cost integer flows. */

set NODES;
set ARCS within NODES cross NODES;

param supply {NODES} >= 0, default 0;
param demand {NODES} >= 0, default 0;
param cost {ARCS} >= 0;
param lo {ARCS} >= 0;
param hi {(i, j) in ARCS} >= lo[i, j];

var flow {(i, j) in ARCS} integer, >= lo[i, j], <= hi[i, j];

minimize total_cost: sum {(i, j) in ARCS} cost[i, j] * flow[i, j];

s.t. balance {n in NODES}:
    sum {(i, n) in ARCS} flow[i, n] + supply[n] >= sum {(n, j) in ARCS} flow[n, j] + demand[n];

solve;

printf "total cost: %g\n", total_cost;
printf {(i, j) in ARCS: flow[i, j] > 0} "%s -> %s: %d\n", i, j, flow[i, j];

