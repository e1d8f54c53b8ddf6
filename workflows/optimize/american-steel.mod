/* American Steel: a transshipment problem. Steel leaves two mills, passes through
   transshipment points, and reaches four markets; every arc has a cost per ton and a
   minimum and maximum flow. Minimum-cost integer flows. */

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

data;

set NODES := Youngstown Pittsburgh Cincinnati KansasCity Chicago Albany Houston Tempe Gary;

param supply := Youngstown 10000 Pittsburgh 15000;
param demand := Albany 3000 Houston 7000 Tempe 4000 Gary 6000;

param : ARCS : cost lo hi :=
    Youngstown Albany      0.5    0    1000
    Youngstown Cincinnati  0.35   0    3000
    Youngstown KansasCity  0.45   1000 5000
    Youngstown Chicago     0.375  0    5000
    Pittsburgh Cincinnati  0.35   0    2000
    Pittsburgh KansasCity  0.45   2000 3000
    Pittsburgh Chicago     0.4    0    4000
    Pittsburgh Gary        0.45   0    2000
    Cincinnati Albany      0.35   1000 5000
    Cincinnati Houston     0.55   0    6000
    KansasCity Houston     0.375  0    4000
    KansasCity Tempe       0.65   0    4000
    Chicago    Tempe       0.6    0    2000
    Chicago    Gary        0.12   0    4000;

end;
