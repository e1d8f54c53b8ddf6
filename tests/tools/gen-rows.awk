# A synthetic binary classification table for the ML tests and benchmarks:
#   awk -v rows=N -v seed=S -f gen-rows.awk > file.csv
# Columns: id, x1..x8 uniform in [-1, 1], and label = 1 when
# x1 + x2/2 - x3*x4 + 0.3 sin(3 x5) plus a little noise is positive (x6..x8 are noise).
BEGIN {
    srand(seed);
    print "id,x1,x2,x3,x4,x5,x6,x7,x8,label";
    for (i = 1; i <= rows; i++) {
        for (j = 1; j <= 8; j++)
            x[j] = 2 * rand() - 1;
        s = x[1] + 0.5 * x[2] - x[3] * x[4] + 0.3 * sin(3 * x[5]) + 0.2 * (rand() - 0.5);
        printf "%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d\n", i, x[1], x[2], x[3], x[4],
               x[5], x[6], x[7], x[8], (s > 0);
    }
}
