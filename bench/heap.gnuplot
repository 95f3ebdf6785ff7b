# heap.gnuplot - the plots of the heap benchmark (bench_heap --data DIR).
#   gnuplot -e "dir='build/bench'" bench/heap.gnuplot
# draws DIR/heap_speed.png (each allocator's time relative to glibc, per
# workload and program) and DIR/heap_growth.png (grow/shrink calls and the
# mean mapped heap against the growth step).
if (!exists("dir")) dir = 'build/bench'
set datafile missing "NaN"
set terminal pngcairo size 1100,560 font "sans,10"

set output dir.'/heap_speed.png'
set title "Time relative to glibc's malloc (lower is better; log scale; missing bar: the allocator failed the run's checks)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.125:16]
set ytics ("1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set grid ytics
set key top left horizontal
set xtics nomirror
plot dir.'/heap_speed.dat' using 2:xtic(1) title 'glibc', \
     '' using 3 title 'kheap', \
     '' using 4 title 'kheap-locked', \
     '' using 5 title 'mimalloc', \
     '' using 6 title 'jemalloc', \
     1 with lines lc rgb "black" dt 2 notitle

reset
set datafile missing "NaN"
set output dir.'/heap_growth.png'
set title "Growth step (= initial reserve = kept minimum) on a phased kernel-like trace"
set xlabel "step (KiB)"
set logscale x 2
set logscale y 10
set ylabel "calls to the backend"
set y2label "mean mapped heap (MiB)"
set ytics nomirror
set y2tics
set key top center
set grid
plot dir.'/heap_growth.dat' using 1:2 with linespoints lw 2 pt 7 title 'grows', \
     '' using 1:3 with linespoints lw 2 pt 5 title 'shrinks', \
     '' using 1:5 axes x1y2 with linespoints lw 2 pt 9 title 'mean heap (MiB, right)'
