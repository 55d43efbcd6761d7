import type { SeriesData } from './chart-math.ts';

export interface ChartSeries {
  id: string;
  label: string;
  color: string;
  data: SeriesData;
  /** Draw a dot on each point (for short series such as epochs). */
  markers?: boolean;
  dashed?: boolean;
  /**
   * Changes when the data were replaced rather than appended to (e.g. StepSeries.generation), so a
   * smoothed copy is recomputed from scratch; without it the chart compares the y buffers.
   */
  generation?: number;
}
