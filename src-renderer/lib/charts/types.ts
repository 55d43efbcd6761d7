import type { SeriesData } from './chart-math.ts';

export interface ChartSeries {
  id: string;
  label: string;
  color: string;
  data: SeriesData;
  /** Draw a dot on each point (for short series such as epochs). */
  markers?: boolean;
  dashed?: boolean;
}
