import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One fixed-window write counter per key (`user:<id>` or `ip:<address>`), shared by every
 * instance. A window starts at a key's first write and ends `RATE_LIMIT_WINDOW_SECONDS` later.
 */
@Entity({ name: 'rate_limit_counter' })
export class RateLimitCounterEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'rate_limit_counter_pkey' })
  key!: string;

  @Column({ name: 'window_start', type: 'timestamptz' })
  windowStart!: Date;

  @Column({ type: 'integer' })
  hits!: number;
}
