import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { CustomFieldRead, CustomFieldWrite } from './custom-field.enums.js';

/**
 * The custom field registry. A trigger (see the migration) sends a NOTIFY on every change so each
 * instance re-reads its in-memory copy at once.
 */
@Entity({ name: 'profile_custom_field' })
@Check('profile_custom_field_key_format', `"key" ~ '^Tag_Profile_Custom_[A-Za-z][A-Za-z0-9]{0,7}$'`)
@Check('profile_custom_field_max_bytes', '"max_bytes" BETWEEN 1 AND 500')
export class ProfileCustomFieldEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'profile_custom_field_pkey' })
  key!: string;

  @Column({ type: 'text', default: '' })
  description!: string;

  @Column({ name: 'max_bytes', type: 'integer', default: 500 })
  maxBytes!: number;

  @Column({ type: 'enum', enum: CustomFieldRead, enumName: 'custom_field_read', default: CustomFieldRead.PUBLIC })
  read!: CustomFieldRead;

  @Column({ type: 'enum', enum: CustomFieldWrite, enumName: 'custom_field_write', default: CustomFieldWrite.OWNER })
  write!: CustomFieldWrite;

  @Column({ type: 'boolean', default: false })
  retired!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
