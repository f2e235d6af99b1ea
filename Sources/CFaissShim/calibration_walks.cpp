// The walk tables of a recall calibration (RecallCalibration+Measure.swift): one query's
// replayed walks, counted from its exact neighbours' list ranks. See quiver_faiss.h.

#include "quiver_faiss.h"

#include <cstdint>
#include <limits>
#include <vector>

extern "C" void quiver_calibration_walks(const int32_t* ranks, int64_t m, const int32_t* depths, int64_t depth_count,
                                         const int32_t* grid, int64_t grid_count, const double* budgets,
                                         int64_t budget_count, int64_t* found) {
    constexpr int64_t kBeyond = std::numeric_limits<int64_t>::max();
    // inside[d][g]: neighbours among the first depths[d] whose lists rank below grid[g].
    // reach[d][g]: neighbours, in distance order, up to the depths[d]-th such one (the walk's
    // depths[d]-th hit), or kBeyond when fewer than depths[d] of the m are probed.
    std::vector<int64_t> inside((size_t)(depth_count * grid_count)), reach((size_t)(depth_count * grid_count));
    for (int64_t g = 0; g < grid_count; g++) {
        const int32_t nprobe = grid[g];
        int64_t probed = 0, next_inside = 0, next_reach = 0;
        for (int64_t position = 0; position < m; position++) {
            if (ranks[position] < nprobe) {
                probed++;
                while (next_reach < depth_count && depths[next_reach] == probed) {
                    reach[(size_t)(next_reach * grid_count + g)] = position + 1;
                    next_reach++;
                }
            }
            while (next_inside < depth_count && depths[next_inside] == position + 1) {
                inside[(size_t)(next_inside * grid_count + g)] = probed;
                next_inside++;
            }
            if (next_inside == depth_count && next_reach == depth_count) break;
        }
        for (int64_t d = next_inside; d < depth_count; d++) inside[(size_t)(d * grid_count + g)] = probed;
        for (int64_t d = next_reach; d < depth_count; d++) reach[(size_t)(d * grid_count + g)] = kBeyond;
    }
    for (int64_t b = 0; b < budget_count; b++) {
        for (int64_t d = 0; d < depth_count; d++) {
            const double allowed = budgets[b] * (double)depths[d];
            const int64_t* reach_d = reach.data() + d * grid_count;
            const int64_t* inside_d = inside.data() + d * grid_count;
            int64_t* found_bd = found + (b * depth_count + d) * grid_count;
            int64_t stop = grid_count - 1;  // every list: nothing is left
            for (int64_t g = grid_count - 1; g >= 0; g--) {
                const bool enough = reach_d[g] != kBeyond && (double)(reach_d[g] - depths[d]) <= allowed;
                if (g == grid_count - 1 || enough) stop = g;
                found_bd[g] += inside_d[stop];
            }
        }
    }
}
