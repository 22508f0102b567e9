# Plots of a benchmark run: gnuplot -e "dir='RESULTS'" tools/bench/plot.gp
# Reads w3.dat, ratios.dat, w1.dat and w7.dat from summary.awk; writes
# w3.png, ratios.png, w1.png and w7.png next to them.
if (!exists("dir")) dir = "."

set datafile missing "NaN"
set grid
set key top right box opaque
set format y "%.1s%c"
ours = "#1f77b4"
stock = "#d62728"

# W3: the two allocators age side by side.
set terminal pngcairo noenhanced size 900,1000 font ",10"
set output dir . "/w3.png"
set multiplot layout 3,1 title "W3 aging: ours and stock in the same boot, one window of each in turn"
set lmargin 12
set ylabel "allocations per second"
set y2label "bursts of 1024 in flight"
set y2tics
set ytics nomirror
plot dir . "/w3.dat" index 0 using 2:3 with linespoints lc rgb ours pt 7 title "ours", \
     "" index 1 using 2:3 with linespoints lc rgb stock pt 5 title "stock", \
     "" index 0 using 2:6 axes x1y2 with steps lc rgb "gray" dt 2 title "working set (bursts)"
unset y2label
unset y2tics
set ytics mirror
set ylabel "tree nodes"
plot dir . "/w3.dat" index 0 using 2:4 with linespoints lc rgb ours pt 7 title "ours", \
     "" index 1 using 2:4 with linespoints lc rgb stock pt 5 title "stock"
set ylabel "bytes in magazines"
set xlabel "workload time of each allocator (s)"
plot dir . "/w3.dat" index 0 using 2:5 with linespoints lc rgb ours pt 7 title "ours", \
     "" index 1 using 2:5 with linespoints lc rgb stock pt 5 title "stock"
unset multiplot
unset xlabel

# Every ratio ours/stock: blue where lower is better, red where higher is.
set terminal pngcairo noenhanced size 900,520 font ",10"
set output dir . "/ratios.png"
set title "ours / stock, median and [min, max] of paired runs. Blue: lower is better; red: higher is better; circles: goals"
set logscale y
set yrange [0.01:20]
set format y "%g"
set ylabel "ours / stock"
set xtics rotate by -35 nomirror
set style fill solid 0.5 border -1
set boxwidth 0.6
set offsets 0.7, 0.7, 0, 0
set key top left
plot dir . "/ratios.dat" using 0:2:3:4:(0.6):(stringcolumn(6) eq "lower" ? 0x1f77b4 : 0xd62728):xtic(1) \
         with boxerrorbars lc rgb variable notitle, \
     "" using 0:5 with points pt 6 ps 2 lw 2 lc rgb "black" title "goal", \
     1 with lines dt 2 lc rgb "gray" title "parity"
unset logscale y
unset title
set offsets 0, 0, 0, 0

# W1 per size class.
set output dir . "/w1.png"
set title "W1 fast path: one alloc_fast + free_fast pair, median and [min, max]"
set autoscale y
set yrange [0:*]
set format y "%g"
set ylabel "ns per pair (TCG)"
set xlabel "size class (granules)"
set xtics norotate
set style data histogram
set style histogram errorbars gap 2 lw 1
set key top right
plot dir . "/w1.dat" using 2:3:4:xtic(1) lc rgb ours title "ours", \
     "" using 5:6:7 lc rgb stock title "stock"

# W7: ns per call of each operation in each configuration.
set output dir . "/w7.png"
set title "W7 real DMA (edu device): ns per call, median and [min, max]"
set ylabel "ns per call (TCG)"
set xlabel "operation"
set key top left
plot dir . "/w7.dat" using 2:3:4:xtic(1) lc rgb "#e377c2" title "stock DMA (strict)", \
     "" using 5:6:7 lc rgb "#1f77b4" title "ours DMA (strict)", \
     "" using 8:9:10 lc rgb "#d62728" title "stock DMA-FQ (lazy)", \
     "" using 11:12:13 lc rgb "#17becf" title "ours DMA-FQ (lazy)", \
     "" using 14:15:16 lc rgb "#2ca02c" title "ours DMA-SQ (lazy)"
