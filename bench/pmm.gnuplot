# pmm.gnuplot - the plots of the frame-allocator benchmark (bench_pmm --data DIR).
#   gnuplot -e "dir='build/bench'" bench/pmm.gnuplot
# draws DIR/pmm_single.png (ns per free+alloc pair against memory size, one
# panel per occupancy: bitmap, hbitmap, the free-list stack) and
# DIR/pmm_contig.png (ns per alloc_contig+free_contig pair of an aligned
# block of 2^k frames at 90% occupancy, against k, per memory size).
# pmm_single.dat has one row per (size, occupancy), sizes outermost, four
# occupancies each; pmm_contig.dat one data set (orders) per size.
if (!exists("dir")) dir = 'build/bench'
set terminal pngcairo size 1100,760 font "sans,10"

set output dir.'/pmm_single.png'
set multiplot layout 2,2 title "Single frames: ns per pmm\\_free + pmm\\_alloc pair (log scale; dashed: the 25 ns aim)"
set logscale x 2
set logscale y 10
set xrange [12:5500]
set yrange [1:100000]
set xtics ("16M" 16, "256M" 256, "1G" 1024, "4G" 4096)
set ytics ("1" 1, "10" 10, "100" 100, "1µs" 1000, "10µs" 10000, "100µs" 100000)
set xlabel "memory"
set grid
set key top left
occupancy = "50% 90% 99% full-1"
do for [i = 1:4] {
	set title word(occupancy, i)." occupied"
	plot dir.'/pmm_single.dat' every 4::(i - 1) using 1:3 with linespoints lw 2 pt 7 title 'bitmap', \
	     '' every 4::(i - 1) using 1:4 with linespoints lw 2 pt 5 title 'hbitmap', \
	     '' every 4::(i - 1) using 1:5 with linespoints lw 1 pt 1 title 'stack', \
	     25 with lines lc rgb "black" dt 2 notitle
}
unset multiplot

reset
set terminal pngcairo size 1100,560 font "sans,10"
set output dir.'/pmm_contig.png'
set title "Aligned blocks of 2^k frames at 90% occupancy: ns per alloc\\_contig + free\\_contig pair (solid: hbitmap, dashed: bitmap; log scale)"
set logscale y 10
set xrange [-0.5:10.5]
set xtics 1
set xlabel "order k (block of 2^k frames: 0 = 4 KiB ... 10 = 4 MiB)"
set ytics ("10" 10, "100" 100, "1µs" 1000, "10µs" 10000, "100µs" 100000, "1ms" 1000000)
set grid
set key top left
# One data set per memory size (--quick runs fewer): name each after its size.
stats dir.'/pmm_contig.dat' using 1 nooutput
sets = STATS_blocks
array size[sets]
do for [i = 1:sets] {
	stats dir.'/pmm_contig.dat' index (i - 1) using 1 nooutput
	size[i] = STATS_min >= 1024 ? sprintf("%d GiB", STATS_min / 1024) : sprintf("%d MiB", STATS_min)
}
plot for [i = 1:sets] dir.'/pmm_contig.dat' index (i - 1) using 2:4 \
	with linespoints lw 2 pt 7 lc i title 'hbitmap, '.size[i], \
     for [i = 1:sets] '' index (i - 1) using 2:3 \
	with linespoints lw 1 pt 6 dt 2 lc i title 'bitmap, '.size[i]
